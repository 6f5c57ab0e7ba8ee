"""Fixtures: a real registry (TLS from a test CA trusted the Docker way, htpasswd auth) per module,
a Docker config directory per test, and ``sf`` to run the CLI against a throwaway store."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.registry.regsupport import Registry, missing_tools, running_registry

_MISSING = missing_tools()
needs_registry = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"needs {', '.join(_MISSING)} (apt-get install docker-registry openssl apache2-utils)",
)


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    if _MISSING:
        pytest.skip(f"needs {', '.join(_MISSING)}")
    work = Path(tempfile.mkdtemp(prefix="stackfile-registry-", dir="/var/tmp"))
    try:
        with running_registry(work) as reg:
            yield reg
    finally:
        subprocess.run(["rm", "-rf", str(work)], check=False)


@pytest.fixture()
def docker_config(tmp_path: Path) -> Path:
    path = tmp_path / "docker-config"
    path.mkdir()
    return path


def cli_env(docker_config: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STACKFILE", "DOCKER_"))}
    env["DOCKER_CONFIG"] = str(docker_config)
    env.update(extra)
    return env


def sf(
    root: Path,
    docker_config: Path,
    *args: str,
    stdin: str | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
    **extra: str,
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "stackfile", "--root", str(root), *args]
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        env=cli_env(docker_config, **extra),
        cwd=cwd,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
