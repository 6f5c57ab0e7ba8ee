"""Cross-checks with the real ``docker`` CLI (run where Docker is installed): what stackfile
pushes docker pulls and runs, what docker pushes stackfile pulls and runs, and each uses the
credentials the other's ``login`` stored in the shared config.json."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import needs_root
from tests.integration.registry.conftest import cli_env, needs_registry, sf
from tests.integration.registry.regsupport import PASSWORD, USER, Registry
from tests.support.ground_truth import docker_cli

DOCKER = docker_cli() or "docker"

# deselected, and counted in the run's summary, where Docker with a busybox image is absent
pytestmark = [needs_root, needs_registry, pytest.mark.ground_truth("docker")]


def docker(cfg: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DOCKER, *args], capture_output=True, text=True, timeout=180, input=stdin, env=cli_env(cfg)
    )


def test_stackfile_pushes_and_docker_pulls_and_runs(
    registry: Registry, store_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    r = sf(store_root, docker_config, "login", registry.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert r.returncode == 0, r.stderr
    ref = f"{registry.host}/cross/from-stackfile:{uuid.uuid4().hex[:8]}"
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo built by stackfile > /msg\nCMD cat /msg\n")
    assert sf(store_root, docker_config, "image", "build", "-t", ref, str(tmp_path)).returncode == 0
    r = sf(store_root, docker_config, "image", "push", ref)
    assert r.returncode == 0, r.stderr
    try:
        pulled = docker(docker_config, "pull", ref)  # with the credentials stackfile's login stored
        assert pulled.returncode == 0, pulled.stderr
        run = docker(docker_config, "run", "--rm", ref)
        assert (run.returncode, run.stdout) == (0, "built by stackfile\n"), run.stderr
    finally:
        docker(docker_config, "rmi", "-f", ref)


def test_docker_pushes_and_stackfile_pulls_and_runs(
    registry: Registry, store_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    r = docker(docker_config, "login", registry.host, "-u", USER, "--password-stdin", stdin=PASSWORD)
    assert r.returncode == 0, r.stderr
    ref = f"{registry.host}/cross/from-docker:{uuid.uuid4().hex[:8]}"
    (tmp_path / "Dockerfile").write_text(
        'FROM busybox\nRUN echo built by docker > /msg\nCMD ["cat", "/msg"]\n'
    )
    try:
        built = docker(docker_config, "build", "-t", ref, str(tmp_path))
        assert built.returncode == 0, built.stderr
        pushed = docker(docker_config, "push", ref)
        assert pushed.returncode == 0, pushed.stderr
    finally:
        docker(docker_config, "rmi", "-f", ref)
    r = sf(store_root, docker_config, "image", "pull", ref)  # with the credentials docker's login stored
    assert r.returncode == 0, r.stderr
    run = sf(store_root, docker_config, "container", "run", "--rm", ref)
    assert (run.returncode, run.stdout) == (0, "built by docker\n"), run.stderr
