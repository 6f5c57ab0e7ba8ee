"""A build killed in a RUN step leaves a container whose command still runs; ``system check``
names it, and the next build that runs a step clears it (issue 12.2)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import needs_root

pytestmark = needs_root


def _sf(root: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackfile", "--root", str(root), *args], cwd=workdir,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_killed_build_leftovers_are_found_and_cleared(store_root: Path, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo one > /one\n")
    assert _sf(store_root, tmp_path, "image", "build", "-t", "kb", ".").returncode == 0
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN sleep 30; echo two > /two\n")
    build = subprocess.Popen([sys.executable, "-m", "stackfile", "--root", str(store_root), "image", "build",
                              "-t", "kb", "."], cwd=tmp_path, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while "Up" not in _sf(store_root, tmp_path, "container", "ls", "-a").stdout:
        assert time.monotonic() < deadline, "the RUN step never started"
        time.sleep(0.1)
    build.kill()
    build.wait()
    found = _sf(store_root, tmp_path, "system", "check")
    assert found.returncode == 1 and "left by a build that was killed" in found.stdout, found.stdout
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo three > /three\n")
    assert _sf(store_root, tmp_path, "image", "build", "-t", "kb", ".").returncode == 0
    assert "stackfile-build-" not in _sf(store_root, tmp_path, "container", "ls", "-a").stdout
    check = _sf(store_root, tmp_path, "system", "check")
    assert check.returncode == 0, check.stdout
    leftover = subprocess.run(["pgrep", "-f", "sleep 30; echo two"], capture_output=True, text=True)
    assert leftover.stdout == "", "the killed step's command still runs"
