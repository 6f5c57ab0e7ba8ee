"""Write host files straight into a running container's root file system.

No tar, no exec: the container's root (``/proc/<pid>/root``, see ``Runtime.rootfs_path``) is opened
once as a directory fd (a :class:`~stackfile.runtime.linux.rootpath.Root`) and every path below it
is resolved inside the container (openat2 ``RESOLVE_IN_ROOT``, or the ``O_NOFOLLOW`` walk): an
absolute link restarts at the container's root, ``..`` never climbs above it, so no link can
redirect a write to the host. Below the target directory the tree is mirrored through directory
fds, never by path. Files are replaced atomically: written to a temp file in the target directory,
given their owner and mode, then renamed over the old one. A replaced file keeps its owner and
mode; a new file gets the owner of its directory and the host file's permission bits; a new
directory the owner and mode of its parent.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass

from stackfile.runtime.linux.rootpath import Root, lstat_at, make_dir_at, remove_at, split, temp_name

__all__ = ["ContainerRoot", "SyncStats"]

Select = Callable[[str, bool], bool]  # (path relative to the synced tree, is_dir) -> take it?


@dataclass
class SyncStats:
    """What one sync changed."""

    written: int = 0
    removed: int = 0
    unchanged: int = 0


class ContainerRoot(Root):
    """A container's root file system, opened once; every write stays below it."""

    def put(self, src: str, dest: str) -> bool:
        """Make container path ``dest`` a copy of host file or symlink ``src`` (atomic replace).

        Returns False when it already was one (same size and mtime, or same link target).
        """
        parent, name = split(dest)
        dfd = self.open_dir(parent, create=True)
        try:
            host, old = os.lstat(src), lstat_at(dfd, name)
            if old is not None and _same(dfd, name, old, src, host):
                return False
            _replace(src, host, dfd, name, old)
            return True
        finally:
            os.close(dfd)

    def sync_tree(self, src: str, dest: str, select: Select, *, prune: bool = True) -> SyncStats:
        """Make container dir ``dest`` match host dir ``src`` for the entries ``select`` takes.

        Files with the same size and mtime are left alone; with ``prune``, selected container
        entries missing on the host are deleted (entries ``select`` rejects are never touched).
        """
        stats = SyncStats()
        parent, name = split(dest) if dest.strip("/") else ("/", "")
        pfd = self.open_dir(parent, create=True)
        try:
            dfd = _subdir(pfd, name) if name else os.dup(pfd)
        finally:
            os.close(pfd)
        try:
            _sync_dir(src, dfd, "", select, prune, stats)
        finally:
            os.close(dfd)
        return stats


def _subdir(dfd: int, name: str) -> int:
    """Open (making it, or replacing a non-directory) directory ``name`` under ``dfd``."""
    old = lstat_at(dfd, name)
    if old is not None and not stat.S_ISDIR(old.st_mode):
        remove_at(dfd, name)
    return make_dir_at(dfd, name)


def _replace(src: str, host: os.stat_result, dfd: int, name: str, old: os.stat_result | None) -> None:
    """Atomically make ``name`` in ``dfd`` a copy of host ``src`` (a file or a symlink)."""
    tmp = temp_name(name)
    keep_old = old is not None and (stat.S_ISREG(old.st_mode) or stat.S_ISLNK(old.st_mode))
    owner = old if keep_old and old is not None else os.fstat(dfd)
    try:
        if stat.S_ISLNK(host.st_mode):
            os.symlink(os.readlink(src), tmp, dir_fd=dfd)
            os.chown(tmp, owner.st_uid, owner.st_gid, dir_fd=dfd, follow_symlinks=False)
        else:
            mode = stat.S_IMODE(old.st_mode) if old is not None and stat.S_ISREG(old.st_mode) \
                else stat.S_IMODE(host.st_mode) & 0o777
            _copy(src, dfd, tmp, owner, mode, host)
        if old is not None and stat.S_ISDIR(old.st_mode):
            shutil.rmtree(name, dir_fd=dfd)
        os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dfd)
        except OSError:
            pass
        raise


def _copy(src: str, dfd: int, tmp: str, owner: os.stat_result, mode: int, host: os.stat_result) -> None:
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                  dir_fd=dfd)
    try:
        with open(src, "rb") as fin:
            _send(fin.fileno(), out, host.st_size)
        os.fchown(out, owner.st_uid, owner.st_gid)
        os.fchmod(out, mode)
        os.utime(out, ns=(host.st_atime_ns, host.st_mtime_ns))
    finally:
        os.close(out)


def _send(fin: int, out: int, size: int) -> None:
    offset = 0
    try:
        while offset < size:
            sent = os.sendfile(out, fin, offset, size - offset)
            if sent == 0:
                return
            offset += sent
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOSYS):
            raise
        os.lseek(fin, offset, os.SEEK_SET)
        while chunk := os.read(fin, 1 << 20):
            os.write(out, chunk)


def _sync_dir(src: str, dfd: int, rel: str, select: Select, prune: bool, stats: SyncStats) -> None:
    existing = {name: lstat_at(dfd, name) for name in os.listdir(dfd)}
    seen: set[str] = set()
    with os.scandir(src) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        path = f"{rel}/{entry.name}" if rel else entry.name
        is_dir = entry.is_dir(follow_symlinks=False)
        if not select(path, is_dir):
            continue
        seen.add(entry.name)
        host = entry.stat(follow_symlinks=False)
        if is_dir:
            sub = _subdir(dfd, entry.name)
            try:
                _sync_dir(entry.path, sub, path, select, prune, stats)
            finally:
                os.close(sub)
            continue
        old = existing.get(entry.name)
        if old is not None and _same(dfd, entry.name, old, entry.path, host):
            stats.unchanged += 1
            continue
        _replace(entry.path, host, dfd, entry.name, old)
        stats.written += 1
    if prune:
        for name in sorted(set(existing) - seen):
            old = existing[name]
            path = f"{rel}/{name}" if rel else name
            if old is not None and select(path, stat.S_ISDIR(old.st_mode)) and remove_at(dfd, name):
                stats.removed += 1


def _same(dfd: int, name: str, old: os.stat_result, src: str, host: os.stat_result) -> bool:
    if stat.S_ISLNK(host.st_mode):
        return stat.S_ISLNK(old.st_mode) and os.readlink(name, dir_fd=dfd) == os.readlink(src)
    return stat.S_ISREG(old.st_mode) and old.st_size == host.st_size and old.st_mtime_ns == host.st_mtime_ns
