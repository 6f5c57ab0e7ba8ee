"""Compose with a registry: ``push`` builds then pushes, ``up`` on an empty store pulls what it
needs and runs it, ``pull`` honours pull_policy."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import needs_root
from tests.integration.registry.conftest import needs_registry, sf
from tests.integration.registry.regsupport import PASSWORD, USER, Registry

pytestmark = [needs_root, needs_registry]


@pytest.fixture()
def stack_dir(tmp_path: Path, store_root: Path, docker_config: Path) -> Iterator[Path]:
    workdir = tmp_path / "proj"
    (workdir / "app").mkdir(parents=True)
    yield workdir
    for root in (store_root, tmp_path / "fresh"):
        if (workdir / "stack.yaml").exists():
            sf(
                root,
                docker_config,
                "-p",
                workdir.name,
                "-f",
                str(workdir / "stack.yaml"),
                "down",
                "-t",
                "1",
                cwd=workdir,
            )


def test_push_builds_then_up_on_an_empty_store_pulls_and_runs(
    registry: Registry, store_root: Path, docker_config: Path, stack_dir: Path, tmp_path: Path
) -> None:
    r = sf(store_root, docker_config, "login", registry.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert r.returncode == 0, r.stderr
    image = f"{registry.host}/compose/web:{secrets.token_hex(3)}"
    (stack_dir / "app" / "Dockerfile").write_text("FROM busybox\nRUN echo from-the-registry > /msg\n")
    (stack_dir / "stack.yaml").write_text(
        f"services:\n  web:\n    image: {image}\n    build: ./app\n    command: [sleep, '300']\n"
    )
    project = ["-p", stack_dir.name, "-f", str(stack_dir / "stack.yaml")]
    r = sf(store_root, docker_config, *project, "push", cwd=stack_dir)
    assert r.returncode == 0, r.stderr

    fresh = tmp_path / "fresh"  # an empty store: up must pull the image by itself
    (stack_dir / "stack.yaml").write_text(
        f"services:\n  web:\n    image: {image}\n    command: [sleep, '300']\n"
    )
    r = sf(fresh, docker_config, *project, "up", "-d", cwd=stack_dir)
    assert r.returncode == 0, r.stderr
    out = sf(fresh, docker_config, *project, "exec", "-T", "web", "cat", "/msg", cwd=stack_dir)
    assert out.stdout == "from-the-registry\n", out.stderr


def test_pull_policy_never_refuses_and_the_pull_command_fetches(
    registry: Registry, store_root: Path, docker_config: Path, stack_dir: Path, tmp_path: Path
) -> None:
    assert (
        sf(
            store_root, docker_config, "login", registry.host, "-u", USER, "--password-stdin", stdin=PASSWORD
        ).returncode
        == 0
    )
    image = f"{registry.host}/compose/never:1"
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM busybox\nRUN echo never > /msg\n")
    assert sf(store_root, docker_config, "image", "build", "-t", image, str(tmp_path / "ctx")).returncode == 0
    assert sf(store_root, docker_config, "image", "push", image).returncode == 0
    (stack_dir / "stack.yaml").write_text(
        f"services:\n  job:\n    image: {image}\n    pull_policy: never\n    command: [cat, /msg]\n"
    )
    project = ["-p", stack_dir.name, "-f", str(stack_dir / "stack.yaml")]
    fresh = tmp_path / "fresh"
    r = sf(fresh, docker_config, *project, "up", "-d", cwd=stack_dir)
    assert r.returncode == 14 and 'service "job"' in r.stderr and "pull_policy" in r.stderr, r.stderr
    r = sf(fresh, docker_config, *project, "pull", cwd=stack_dir)
    assert (r.returncode, r.stderr) == (0, "")  # never means never, for pull too
    (stack_dir / "stack.yaml").write_text(
        f"services:\n  job:\n    image: {image}\n    pull_policy: missing\n    command: [cat, /msg]\n"
    )
    r = sf(fresh, docker_config, *project, "pull", cwd=stack_dir)
    assert r.returncode == 0 and "Pull complete" in r.stderr, r.stderr
    r = sf(fresh, docker_config, *project, "up", "--wait", cwd=stack_dir)
    assert r.returncode == 0, r.stderr
    assert "never" in sf(fresh, docker_config, *project, "logs", "job", cwd=stack_dir).stdout
