"""A RUN step that fills the store's disk (issue 12.4): a clear error naming the step and its
Dockerfile line, with a hint; no partial layer or record; the store stays sound and keeps working."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import needs_root

pytestmark = needs_root


@pytest.fixture()
def small_store() -> Iterator[Path]:
    """A store root on a 40 MiB tmpfs (unmounted afterwards, whatever happens)."""
    mount = Path(tempfile.mkdtemp(prefix="stackfile-small-", dir="/var/tmp"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mount)], check=True)
    try:
        yield mount / "root"
    finally:
        subprocess.run(["umount", "-R", "-l", str(mount)], check=False)
        mount.rmdir()


def _sf(root: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackfile", "--root", str(root), *args], cwd=workdir,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_a_full_disk_in_a_run_step(small_store: Path, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nRUN echo small > /small\nRUN dd if=/dev/zero of=/big bs=1M count=80\n")
    full = _sf(small_store, tmp_path, "image", "build", "-t", "big", ".")
    assert full.returncode != 0
    assert "internal error" not in full.stderr and "Traceback" not in full.stderr, full.stderr
    assert "Dockerfile:3" in full.stderr and "RUN dd if=/dev/zero" in full.stderr, full.stderr
    assert "disk is full" in full.stderr or "No space left on device" in full.stderr, full.stderr
    assert "hint: free space" in full.stderr, full.stderr
    check = _sf(small_store, tmp_path, "system", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert not list((small_store / "tmp").glob("run-*")), "a partial layer was left behind"
    # it keeps working: the same file with a step that fits builds, on the cached first step
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nRUN echo small > /small\nRUN dd if=/dev/zero of=/big bs=1M count=4\n")
    ok = _sf(small_store, tmp_path, "image", "build", "-t", "big", ".")
    assert ok.returncode == 0, ok.stderr
    assert "CACHED" in ok.stderr + ok.stdout
    run = _sf(small_store, tmp_path, "container", "run", "--rm", "big", "cat", "/small")
    assert run.stdout.strip() == "small", run.stderr
    assert _sf(small_store, tmp_path, "system", "check").returncode == 0
