"""login, push, pull and run against a real registry: TLS from a private CA trusted the Docker way
(/etc/docker/certs.d/HOST:PORT/ca.crt), htpasswd auth, Docker's config.json for credentials."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.conftest import needs_root
from tests.integration.registry.conftest import sf
from tests.integration.registry.regsupport import PASSWORD, USER, Registry

pytestmark = needs_root


def _login(root: Path, cfg: Path, registry: Registry) -> None:
    r = sf(root, cfg, "login", registry.host, "-u", USER, "--password-stdin", stdin=PASSWORD + "\n")
    assert r.returncode == 0 and "Login Succeeded" in r.stdout, r.stderr


def _build(root: Path, cfg: Path, tmp: Path, tag: str, text: str) -> None:
    (tmp / "ctx").mkdir(exist_ok=True)
    (tmp / "ctx" / "Dockerfile").write_text(
        f'FROM busybox\nRUN echo \'{text}\' > /hello\nCMD ["cat", "/hello"]\n'
    )
    r = sf(root, cfg, "image", "build", "-t", tag, str(tmp / "ctx"))
    assert r.returncode == 0, r.stderr


def test_login_refuses_a_wrong_password_and_keeps_a_right_one_as_docker_does(
    registry: Registry, store_root: Path, docker_config: Path
) -> None:
    r = sf(store_root, docker_config, "login", registry.host, "-u", USER, "--password-stdin", stdin="wrong\n")
    assert r.returncode == 13, r.stderr
    assert f"unauthorized: registry {registry.host} rejected the credentials" in r.stderr
    assert "Traceback" not in r.stderr and not (docker_config / "config.json").exists()
    _login(store_root, docker_config, registry)
    doc = json.loads((docker_config / "config.json").read_text())
    assert base64.b64decode(doc["auths"][registry.host]["auth"]).decode() == f"{USER}:{PASSWORD}"
    assert (docker_config / "config.json").stat().st_mode & 0o077 == 0
    r = sf(store_root, docker_config, "logout", registry.host)
    assert r.returncode == 0 and "Removing login credentials" in r.stdout
    assert registry.host not in json.loads((docker_config / "config.json").read_text())["auths"]


def test_push_then_pull_into_an_empty_store_and_run(
    registry: Registry, store_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    _login(store_root, docker_config, registry)
    ref = f"{registry.host}/team/hello:1"
    _build(store_root, docker_config, tmp_path, ref, "hello from the registry")
    r = sf(store_root, docker_config, "image", "push", ref)
    assert r.returncode == 0, r.stderr
    digest = r.stdout.strip().rsplit("@", 1)[1]
    assert digest.startswith("sha256:") and "Pushed" in r.stderr
    again = sf(store_root, docker_config, "image", "push", ref)
    assert again.returncode == 0 and "Layer already exists" in again.stderr and "Pushed" not in again.stderr

    other = tmp_path / "other-store"
    r = sf(other, docker_config, "image", "pull", ref)
    assert r.returncode == 0, r.stderr
    assert "Pull complete" in r.stderr
    run = sf(other, docker_config, "container", "run", "--rm", ref)
    assert (run.returncode, run.stdout) == (0, "hello from the registry\n"), run.stderr
    by_digest = sf(other, docker_config, "container", "run", "--rm", f"{registry.host}/team/hello@{digest}")
    assert by_digest.stdout == "hello from the registry\n", by_digest.stderr
    r = sf(other, docker_config, "image", "pull", "--format", "json", ref)
    doc = json.loads(r.stdout)
    assert doc["reference"] == ref and ref in doc["names"]
    assert "Already exists" not in r.stdout
    r = sf(other, docker_config, "image", "pull", "-q", ref)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"{ref}\n", "")
    sf(other, docker_config, "system", "prune", "-a")


def test_a_new_repository_mounts_the_blobs_of_another(
    registry: Registry, store_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    _login(store_root, docker_config, registry)
    first, second = f"{registry.host}/team/mount-a:1", f"{registry.host}/team/mount-b:1"
    _build(store_root, docker_config, tmp_path, first, "mounted")
    assert sf(store_root, docker_config, "image", "push", first).returncode == 0
    assert sf(store_root, docker_config, "image", "tag", first, second).returncode == 0
    r = sf(store_root, docker_config, "image", "push", second)
    assert r.returncode == 0, r.stderr
    assert "Mounted from team/mount-a" in r.stderr and "Pushing" not in r.stderr


def test_credentials_from_config_json_are_used_and_a_wrong_one_is_named(
    registry: Registry, store_root: Path, docker_config: Path
) -> None:
    auth = base64.b64encode(f"{USER}:not-the-password".encode()).decode()
    (docker_config / "config.json").write_text(json.dumps({"auths": {registry.host: {"auth": auth}}}))
    r = sf(store_root, docker_config, "image", "pull", f"{registry.host}/team/hello:1")
    assert r.returncode == 13
    assert (
        f"unauthorized: registry {registry.host} rejected the credentials from "
        f"{docker_config}/config.json (auths.{registry.host})" in r.stderr
    )
    (docker_config / "config.json").write_text("{}")
    r = sf(store_root, docker_config, "image", "pull", f"{registry.host}/team/hello:1")
    assert r.returncode == 13 and f"registry {registry.host} needs credentials" in r.stderr
    assert f"stackfile login {registry.host}" in r.stderr


def test_a_private_ca_that_is_not_trusted_is_a_clear_error(
    registry: Registry, store_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    """Without the CA in certs.d the registry's certificate is refused (no silent plain HTTP)."""
    import shutil

    from tests.integration.registry.regsupport import DOCKER_CERTS_D

    saved = tmp_path / "ca.crt"
    shutil.move(DOCKER_CERTS_D / registry.host / "ca.crt", saved)
    try:
        r = sf(store_root, docker_config, "image", "pull", f"{registry.host}/team/hello:1")
    finally:
        shutil.move(saved, DOCKER_CERTS_D / registry.host / "ca.crt")
    assert r.returncode == 17 and "TLS certificate is not trusted" in r.stderr
    assert f"/etc/docker/certs.d/{registry.host}/ca.crt" in r.stderr


def test_from_a_registry_image_in_a_dockerfile_pulls_it(
    registry: Registry, store_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    _login(store_root, docker_config, registry)
    base = f"{registry.host}/team/base:1"
    _build(store_root, docker_config, tmp_path, base, "base layer")
    assert sf(store_root, docker_config, "image", "push", base).returncode == 0
    fresh = tmp_path / "fresh"
    (tmp_path / "child").mkdir()
    (tmp_path / "child" / "Dockerfile").write_text(f"FROM {base}\nRUN cat /hello > /copied\n")
    r = sf(fresh, docker_config, "image", "build", "-t", "child:1", str(tmp_path / "child"))
    assert r.returncode == 0, r.stderr
    run = sf(fresh, docker_config, "container", "run", "--rm", "child:1", "cat", "/copied")
    assert run.stdout == "base layer\n", run.stderr
    assert f"{registry.host}/team/base " in sf(fresh, docker_config, "image", "ls").stdout  # pulled, named
    (tmp_path / "missing").mkdir()
    (tmp_path / "missing" / "Dockerfile").write_text(f"FROM {registry.host}/team/absent:1\n")
    r = sf(fresh, docker_config, "image", "build", "-t", "m:1", str(tmp_path / "missing"))
    assert r.returncode == 14 and "Dockerfile:1" in r.stderr and "team/absent" in r.stderr, r.stderr
