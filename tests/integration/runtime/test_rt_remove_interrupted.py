"""A removal killed half way leaves no container whose config outlived its root: the directory is
renamed out of the listing first, and `system check --repair` deletes what is left of it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import container_store, needs_root

pytestmark = needs_root


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackfile", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def root() -> Iterator[Path]:
    yield from container_store("stackfile-rm-", _cli)


def test_a_killed_removal_leaves_a_hidden_leftover_that_check_repairs(root: Path) -> None:
    made = _cli(root, "container", "create", "--name", "gone", "busybox", "true")
    assert made.returncode == 0, made.stderr
    cid = made.stdout.strip()
    containers = root / "containers"
    # the state a kill -9 leaves right after remove_dirs' rename, with part of the tree deleted
    _cli(root, "container", "rm", "-f", "gone")
    assert not (containers / cid).exists() and not (containers / f".removing-{cid}").exists()
    made = _cli(root, "container", "create", "--name", "half", "busybox", "true")
    cid = made.stdout.strip()
    os.unlink(containers / ".names" / "half")
    os.rename(containers / cid, containers / f".removing-{cid}")
    subprocess.run(["rm", "-rf", str(containers / f".removing-{cid}" / "upper")], check=True)

    listed = _cli(root, "container", "ls", "-a", "--format", "json")
    assert cid not in listed.stdout  # no half container to start or trip over
    check = _cli(root, "system", "check")
    assert check.returncode == 1 and "removal was interrupted" in check.stdout, check.stdout
    repaired = _cli(root, "system", "check", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert not (containers / f".removing-{cid}").exists()
