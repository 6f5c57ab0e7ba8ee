"""``container diff``: what a container changed, read from its overlay upper dir (as Docker).

An entry of the upper dir is *added* (A) when no lower layer shows that path, *changed* (C) when
one does, and a whiteout (a 0/0 character device) is a *deletion* (D); below an opaque directory
every entry is new. What the runtime itself made for its mounts (empty ``/etc/hosts``,
``/etc/hostname``, ``/etc/resolv.conf`` and mount-point stubs absent from the image) is left out, as
Docker keeps those in its init layer. The upper dir is read through a :class:`Root` (directory fds,
``O_NOFOLLOW``), never following what the container put there.
"""

from __future__ import annotations

import os
import posixpath
import stat

from stackfile.build.rootfs import LayeredView
from stackfile.runtime.linux.rootpath import Root, lstat_at
from stackfile.store.paths import StorePaths

__all__ = ["KIND_LETTER", "Skip", "changes", "runtime_stubs"]

KIND_LETTER = {0: "C", 1: "A", 2: "D"}  # Docker's ChangeType numbers
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_ETC_STUBS = ("etc/hosts", "etc/hostname", "etc/resolv.conf")
_MOUNT_DIRS = ("proc", "sys", "dev", "dev/pts", "dev/shm", "dev/mqueue", "sys/fs/cgroup")


class Skip:
    """Decides which upper-dir entries are the runtime's stubs rather than the container's changes."""

    def __init__(self, view: LayeredView, targets: set[str]) -> None:
        self.view, self.targets = view, targets

    def __call__(self, rel: str, st: os.stat_result) -> bool:
        if rel not in self.targets or self.view.find(rel) is not None:
            return False
        if stat.S_ISREG(st.st_mode):
            return st.st_size == 0
        return stat.S_ISDIR(st.st_mode)


def runtime_stubs(layers: tuple[str, ...], mount_targets: tuple[str, ...]) -> Skip:
    """The stub filter of a container over ``layers`` (top first) with these mount targets."""
    targets = {*_ETC_STUBS, *_MOUNT_DIRS, *(t.strip("/") for t in mount_targets)}
    return Skip(LayeredView(layers), {posixpath.normpath(t) for t in targets if t})


def changes(paths: StorePaths, ref: str) -> list[dict[str, object]]:
    """``[{"Path": "/etc", "Kind": 0}, ...]`` sorted by path (Kind: 0 changed, 1 added, 2 deleted)."""
    from stackfile.runtime import get_runtime

    rt = get_runtime(paths)
    spec = rt.spec_of(ref)
    skip = runtime_stubs(tuple(spec.layers), tuple(m.target for m in spec.mounts))
    out: list[tuple[str, int]] = []
    with Root(rt.upper_dir(ref)) as upper:
        fd = upper.open_dir("/")
        try:
            _walk(fd, "", skip, False, out)
        finally:
            os.close(fd)
    return [{"Path": "/" + p, "Kind": k} for p, k in sorted(out)]


def _walk(dfd: int, rel_dir: str, skip: Skip, opaque: bool, out: list[tuple[str, int]]) -> bool:
    """Append the changes below directory fd ``dfd``; True when every entry was a skipped stub."""
    only_stubs = True
    for name in sorted(os.listdir(dfd)):
        rel = posixpath.join(rel_dir, name) if rel_dir else name
        st = lstat_at(dfd, name)
        if st is None:
            continue
        if skip(rel, st):
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            out.append((rel, 2))
            only_stubs = False
            continue
        lower = None if opaque else skip.view.find(rel)
        if stat.S_ISDIR(st.st_mode):
            try:
                sub = os.open(name, _DIR, dir_fd=dfd)
            except OSError:
                continue
            try:
                sub_opaque = _is_opaque(sub)
                mark = len(out)
                stubs_only = _walk(sub, rel, skip, opaque or sub_opaque, out)
            finally:
                os.close(sub)
            if stubs_only and not sub_opaque and lower is not None and _same_meta(st, lower) \
                    and len(out) == mark and _had_entries(dfd, name):
                continue  # copied up only to hold the runtime's stubs
            out.insert(mark, (rel, 1 if lower is None else 0))
        else:
            out.append((rel, 1 if lower is None else 0))
        only_stubs = False
    return only_stubs


def _had_entries(dfd: int, name: str) -> bool:
    try:
        fd = os.open(name, _DIR, dir_fd=dfd)
    except OSError:
        return False
    try:
        return bool(os.listdir(fd))
    finally:
        os.close(fd)


def _same_meta(st: os.stat_result, lower: str) -> bool:
    try:
        lst = os.lstat(lower)
    except OSError:
        return False
    return stat.S_ISDIR(lst.st_mode) and (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (
        stat.S_IMODE(lst.st_mode), lst.st_uid, lst.st_gid)


def _is_opaque(fd: int) -> bool:
    try:
        return os.getxattr(fd, "trusted.overlay.opaque") in (b"y", b"x")
    except OSError:
        return False
