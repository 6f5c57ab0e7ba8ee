"""The symlink-exchange race of ``docker cp`` (CVE-2018-15664), against every place the host touches a
container's files: a process rooted in the container swaps a directory with a symlink to ``/`` with
``renameat2(RENAME_EXCHANGE)`` in a tight loop while the host syncs files in (watch), reads files
out (user lookup, ``cp`` to come), fills a volume and mounts into a shared volume at container start,
many times. Not one host path outside the container may be written or read."""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.runtime.api import Mount
from stackfile.runtime.linux.errors import StartFailed
from stackfile.runtime.linux.rootpath import Root
from stackfile.volumes import _overlay_copy
from stackfile.watch.sync import ContainerRoot
from tests.conftest import needs_root
from tests.integration.runtime.rtsupport import Env, captured

pytestmark = needs_root

RENAME_EXCHANGE = 2
AT_FDCWD = -100
SECONDS = 3.0  # per site: thousands of swaps, hundreds of host operations


@contextlib.contextmanager
def flipping(root: str, directory: str, link: str) -> Iterator[None]:
    """A process chrooted into ``root`` (the container's view) swapping ``directory`` and ``link``
    (a symlink to ``/``) until the block ends. When the host has removed the link or replaced it
    with a directory, the attacker puts a link back."""
    libc = ctypes.CDLL(None, use_errno=True)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the attacker
        try:
            os.chroot(root)
            os.chdir("/")
            a, b = directory.encode(), link.encode()
            for i in itertools.count():
                if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
                    for p in (directory, link):
                        with contextlib.suppress(OSError):
                            os.symlink("/", p)
                elif i % 64 == 0 and not (os.path.islink(directory) or os.path.islink(link)):
                    with contextlib.suppress(OSError):
                        os.rename(link, f"{link}.{i}")
                        os.symlink("/", link)
        finally:
            os._exit(0)
    try:
        time.sleep(0.05)
        yield
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


@pytest.fixture()
def tag() -> Iterator[str]:
    """A unique name prefix; whatever an escape left under the host's ``/`` with it is removed."""
    name = f"stackfile-race-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        for leftover in Path("/").glob(f"{name}*"):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def escaped(tag: str) -> list[str]:
    return sorted(p for p in os.listdir("/") if p.startswith(tag))


def _until(deadline: float) -> Iterator[int]:
    i = 0
    while time.monotonic() < deadline:
        yield i
        i += 1


@pytest.fixture()
def running(env: Env) -> Iterator[tuple[str, str]]:
    cid = env.rt.create(env.spec("mkdir -p /w/d && echo inside > /w/d/secret && exec sleep 1000",
                                 stop_grace_seconds=0.1))
    env.rt.start(cid)
    try:
        root = env.rt.rootfs_path(cid)
        deadline = time.monotonic() + 5
        while not os.path.exists(f"{root}/w/d/secret") and time.monotonic() < deadline:
            time.sleep(0.02)
        yield cid, root
    finally:
        env.rt.remove(cid, force=True)


@pytest.mark.parametrize("fallback", [False, True], ids=["openat2", "walk"])
def test_watch_sync_and_reads_stay_inside_while_the_container_swaps_a_dir_for_a_link(
        running: tuple[str, str], tmp_path: Path, tag: str, fallback: bool) -> None:
    _, root = running
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "payload").write_text("synced\n")
    (src / "sub" / "deep").write_text("synced\n")
    writes = reads = 0
    container_files = {"/w/d/secret": b"inside\n", "/w/d/etc/passwd": Path(root, "etc/passwd").read_bytes()}
    assert container_files["/w/d/etc/passwd"] != Path("/etc/passwd").read_bytes()
    with flipping(root, "/w/d", "/w/l"):
        for i in _until(time.monotonic() + SECONDS):
            with contextlib.suppress(OSError), ContainerRoot(root, fallback=fallback) as croot:
                croot.put(str(src / "payload"), f"/w/d/{tag}-{i}")
                croot.sync_tree(str(src), f"/w/d/{tag}-tree", lambda rel, is_dir: True)
                writes += 1
            with Root(root, fallback=fallback) as r:
                for path in ("/w/d/secret", "/w/d/etc/passwd"):
                    with contextlib.suppress(OSError):
                        data = r.read(path)
                        assert data == container_files[path]  # never the host's file of that name
                        reads += 1
    assert writes > 20 and reads > 20
    assert escaped(tag) == []
    assert any(p.startswith(tag) for d in (f"{root}/w/d", f"{root}/w/l", root) if os.path.isdir(d)
               for p in os.listdir(d))  # the writes happened, inside the container


def test_volume_fill_stays_inside_while_a_container_using_the_volume_swaps(env: Env, tmp_path: Path,
                                                                          tag: str) -> None:
    volume, layer = tmp_path / "volume", tmp_path / "layer"
    volume.mkdir()
    (layer / "data" / "d" / tag).mkdir(parents=True)
    for n in range(40):
        (layer / "data" / "d" / f"{tag}-{n}").write_text("image\n")
    (layer / "data" / "d" / tag / "inner").write_text("image\n")
    cid = env.rt.create(env.spec("exec sleep 1000", mounts=(Mount("bind", "/vol", str(volume)),),
                                 stop_grace_seconds=0.1))
    env.rt.start(cid)
    fills = 0
    try:
        with flipping(env.rt.rootfs_path(cid), "/vol/d", "/vol/l"):
            for _ in _until(time.monotonic() + SECONDS):
                with contextlib.suppress(OSError):
                    _overlay_copy(layer, "/data", volume)
                    fills += 1
    finally:
        env.rt.remove(cid, force=True)
    assert fills > 10
    assert escaped(tag) == []


def test_mount_targets_in_a_shared_volume_stay_inside_while_another_container_swaps(
        env: Env, tmp_path: Path, tag: str) -> None:
    volume, payload = tmp_path / "volume", tmp_path / "payload"
    (volume / "d").mkdir(parents=True)
    payload.mkdir()
    attacker = env.rt.create(env.spec("exec sleep 1000", mounts=(Mount("bind", "/vol", str(volume)),),
                                      stop_grace_seconds=0.1))
    env.rt.start(attacker)
    starts = started = 0
    try:
        with flipping(env.rt.rootfs_path(attacker), "/vol/d", "/vol/l"):
            for i in _until(time.monotonic() + SECONDS):
                mounts = (Mount("bind", "/vol", str(volume)), Mount("tmpfs", f"/vol/d/{tag}-t{i}"),
                          Mount("bind", f"/vol/d/{tag}-{i}", str(payload)))
                with captured(), contextlib.suppress(StartFailed):  # a target swapped away mid-start
                    env.rt.run_attached(env.spec("true", auto_remove=True, mounts=mounts))
                    started += 1
                starts += 1
    finally:
        env.rt.remove(attacker, force=True)
    assert starts >= 3 and started >= 1
    assert escaped(tag) == []
    assert list(payload.iterdir()) == []
