"""Token auth: distribution's token mode with a small token server standing in for Docker Hub's
auth service (WWW-Authenticate realm/service/scope, a JWT per scope set)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import needs_root
from tests.integration.registry.conftest import needs_registry, sf
from tests.integration.registry.regsupport import (
    PASSWORD,
    USER,
    Registry,
    TokenServer,
    make_token_key,
    running_registry,
)

pytestmark = [needs_root, needs_registry]


@pytest.fixture(scope="module")
def token_registry() -> Iterator[tuple[Registry, TokenServer]]:
    pytest.importorskip("cryptography")
    work = Path(tempfile.mkdtemp(prefix="stackfile-registry-token-", dir="/var/tmp"))
    make_token_key(work)
    server = TokenServer(work)
    try:
        with running_registry(work, auth="token", token_realm=server.realm) as reg:
            yield reg, server
    finally:
        server.close()
        import shutil

        shutil.rmtree(work, ignore_errors=True)


def test_bearer_tokens_for_login_push_and_pull(
    token_registry: tuple[Registry, TokenServer], store_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    registry, server = token_registry
    r = sf(store_root, docker_config, "login", registry.host, "-u", USER, "--password-stdin", stdin="nope")
    assert (
        r.returncode == 13 and f"unauthorized: registry {registry.host} rejected the credentials" in r.stderr
    )
    r = sf(store_root, docker_config, "login", registry.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert r.returncode == 0, r.stderr

    ref = f"{registry.host}/tokens/app:1"
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo via tokens > /msg\n")
    assert sf(store_root, docker_config, "image", "build", "-t", ref, str(tmp_path)).returncode == 0
    server.requests.clear()
    r = sf(store_root, docker_config, "image", "push", ref)
    assert r.returncode == 0, r.stderr
    scopes = {s for req in server.requests for s in req["query"].get("scope", [])}
    assert scopes == {"repository:tokens/app:pull,push"}
    assert all(req["authorized"] for req in server.requests)
    assert {req["query"]["service"][0] for req in server.requests} == {"test-registry"}

    other = tmp_path / "other"
    r = sf(other, docker_config, "image", "pull", ref)
    assert r.returncode == 0, r.stderr
    run = sf(other, docker_config, "container", "run", "--rm", ref, "cat", "/msg")
    assert run.stdout == "via tokens\n", run.stderr

    (docker_config / "config.json").write_text(json.dumps({"auths": {}}))
    r = sf(tmp_path / "third", docker_config, "image", "pull", ref)
    assert r.returncode == 13 and f"registry {registry.host} needs credentials" in r.stderr


def test_an_identity_token_is_exchanged_with_a_post(
    token_registry: tuple[Registry, TokenServer], store_root: Path, docker_config: Path
) -> None:
    registry, server = token_registry
    doc = {"auths": {registry.host: {"identitytoken": f"refresh-{USER}"}}}
    (docker_config / "config.json").write_text(json.dumps(doc))
    server.requests.clear()
    r = sf(store_root, docker_config, "image", "pull", f"{registry.host}/tokens/app:1")
    assert r.returncode == 0, r.stderr
    assert server.requests and {req["method"] for req in server.requests} == {"POST"}
