"""Shared fixtures: a throwaway store root per test session and checks for root/kernel features.

Tests that need root or a kernel feature use the ``needs_root`` marker helpers below, which skip
with the reason when the feature is missing. On CI (root, this machine kind) nothing is skipped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.support.ground_truth"]  # --corpus, and the summary of checks against Docker/a corpus

IS_ROOT = os.geteuid() == 0


def pytest_configure(config: pytest.Config) -> None:
    """The Ctrl-C tests send SIGINT to this process and to the CLI it starts. A runner that starts
    the suite in the background of a non-interactive shell hands SIGINT down ignored, and an ignored
    signal stays ignored through exec: give this process Python's handler back, so the CLIs it
    starts get the default disposition, as from a terminal."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _has_overlay() -> bool:
    try:
        return "overlay" in Path("/proc/filesystems").read_text()
    except OSError:
        return False


HAS_OVERLAY = _has_overlay()
ROOT_REASON = "needs root (namespaces, overlayfs, cgroups, netlink)"

needs_root = pytest.mark.skipif(not (IS_ROOT and HAS_OVERLAY), reason=ROOT_REASON)


@pytest.fixture()
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh store root for one test, removed afterwards with everything the test left running or
    made in the kernel for it: processes (shims, containers, DNS servers, proxies), nft tables, links,
    mounts and cgroups (see tests/support/cleanup.py)."""
    from tests.support.cleanup import clean_store_root

    base = Path(tempfile.mkdtemp(prefix="stackfile-store-", dir="/var/tmp"))
    try:
        yield base
    finally:
        clean_store_root(base)


def _unmount_below(base: Path) -> None:
    """Lazily unmount anything still mounted under ``base`` (deepest first)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return
    prefix = str(base)
    points = [ln.split()[4] for ln in lines if ln.split()[4].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def processes_of(container_id: str) -> list[int]:
    """Host processes whose command line names the container (its shim) or that are in its cgroup."""
    from tests.support.cleanup import host_processes

    return [pid for pid, cmdline, groups in host_processes()
            if container_id.encode() in cmdline or container_id in groups]


def container_store(prefix: str, cli: Callable[..., object]) -> Iterator[Path]:
    """A throwaway store root for CLI container tests; afterwards its containers are removed with
    ``cli(root, "container", "rm", "-f", *ids)``, then its mounts and directory."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    try:
        yield base
    finally:
        containers = base / "containers"
        ids = [n for n in os.listdir(containers) if not n.startswith(".")] if containers.exists() else []
        try:
            if ids:
                cli(base, "container", "rm", "-f", *ids)
        finally:
            from tests.support.cleanup import clean_store_root

            clean_store_root(base)  # whatever rm left: processes, links, tables, mounts, cgroups
