"""Safe tar extraction into a layer directory, and layer directory → tar (OCI whiteouts).

Extraction never follows a symlink on the host: every parent of a member is checked to be a real
directory below the destination. Refused: names that escape (``..``), links whose target escapes,
hard links to anything but an earlier member, device nodes (except whiteouts). Image layers may
carry absolute symlinks (they are rooted in the container, e.g. ``/bin/sh -> /bin/busybox``);
``ADD`` archives may not (``allow_absolute_links=False``). OCI whiteouts become overlay whiteouts:
``.wh.<name>`` → a 0/0 character device, ``.wh..wh..opq`` → ``trusted.overlay.opaque=y``.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from stackfile.errors import InvalidSpec

__all__ = ["extract_layer", "layer_to_tar"]

WH = ".wh."
OPAQUE = ".wh..wh..opq"


def _refuse(archive: str, member: str, why: str) -> InvalidSpec:
    return InvalidSpec(f"refusing archive {archive}: member {member!r} {why}",
                       hint="the archive may be hostile or corrupt; only regular files, directories, "
                            "links inside the archive and whiteouts are accepted")


def _clean(name: str, archive: str) -> str:
    rel = posixpath.normpath("/" + name).lstrip("/")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise _refuse(archive, name, "escapes the destination (..)")
    return rel


def _safe_parent(dest: Path, rel: str, archive: str, name: str, create: bool = True) -> Path:
    """Create/check the parent directories of ``rel`` under ``dest``; no symlink may be crossed."""
    cur = dest
    for part in rel.split("/")[:-1]:
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            if not create:
                raise _refuse(archive, name, "links to a path that is not in the archive") from None
            os.mkdir(cur, 0o755)
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise _refuse(archive, name, f"would be written through {cur.relative_to(dest)}, "
                                         "which is not a directory (a symlink?)")
    return cur


def _remove_existing(path: Path, keep_dir: bool) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        if keep_dir:
            return

        shutil.rmtree(path)
    else:
        os.unlink(path)


def _check_link(m: tarfile.TarInfo, rel: str, archive: str, allow_absolute: bool) -> None:
    target = m.linkname
    if "\0" in target:
        raise _refuse(archive, m.name, "has a NUL in its link target")
    if m.issym():
        if target.startswith("/"):
            if not allow_absolute:
                raise _refuse(archive, m.name, f"is an absolute symlink ({target})")
            return
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
        if resolved == ".." or resolved.startswith("../") or resolved.startswith("/"):
            raise _refuse(archive, m.name, f"is a symlink escaping the destination ({target})")
    else:
        clean = posixpath.normpath("/" + target).lstrip("/")
        if ".." in target.split("/") or not clean:
            raise _refuse(archive, m.name, f"is a hard link escaping the destination ({target})")


def extract_layer(fileobj: IO[bytes], dest: Path, *, archive: str = "archive",
                  whiteouts: bool = True, allow_absolute_links: bool = True,
                  owners: bool = True) -> int:
    """Extract the tar stream ``fileobj`` into ``dest``; returns the number of members."""
    count = 0
    with tarfile.open(fileobj=fileobj, mode="r|*", bufsize=1 << 20) as tar:  # 1 MiB reads, not 10 KiB
        for m in tar:
            count += 1
            _extract_member(tar, m, dest, archive, whiteouts, allow_absolute_links, owners)
    return count


def _extract_member(tar: tarfile.TarFile, m: tarfile.TarInfo, dest: Path, archive: str,
                    whiteouts: bool, allow_absolute: bool, owners: bool) -> None:
    rel = _clean(m.name, archive)
    if not rel:
        return  # the root itself ("./")
    base = posixpath.basename(rel)
    parent = _safe_parent(dest, rel, archive, m.name)
    if whiteouts and base == OPAQUE:
        os.setxattr(parent, "trusted.overlay.opaque", b"y")
        return
    if whiteouts and base.startswith(WH):
        target = parent / base[len(WH):]
        _remove_existing(target, keep_dir=False)
        os.mknod(target, stat.S_IFCHR | 0o000, os.makedev(0, 0))
        return
    path = dest / rel
    if m.isdir():
        _remove_existing(path, keep_dir=True)
        if not path.is_dir():
            os.mkdir(path, 0o755)
    elif m.isreg():
        _remove_existing(path, keep_dir=False)
        src = tar.extractfile(m)
        with open(path, "xb") as out:
            while src is not None and (chunk := src.read(1 << 20)):
                out.write(chunk)
    elif m.issym() or m.islnk():
        _check_link(m, rel, archive, allow_absolute)
        _remove_existing(path, keep_dir=False)
        if m.issym():
            os.symlink(m.linkname, path)
            _chown(path, m, owners, follow=False)
            return
        link_rel = posixpath.normpath("/" + m.linkname).lstrip("/")
        _safe_parent(dest, link_rel, archive, m.name, create=False)
        target = dest / link_rel
        tst = os.lstat(target) if os.path.lexists(target) else None
        if tst is None or not stat.S_ISREG(tst.st_mode):
            raise _refuse(archive, m.name, f"is a hard link to {m.linkname!r}, not an earlier file")
        os.link(target, path, follow_symlinks=False)
        return
    elif m.isfifo():
        _remove_existing(path, keep_dir=False)
        os.mkfifo(path, 0o644)
    elif m.ischr() and m.devmajor == 0 and m.devminor == 0 and whiteouts:
        _remove_existing(path, keep_dir=False)
        os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))
        return
    else:
        raise _refuse(archive, m.name, "is a device node or an unsupported entry type")
    _chown(path, m, owners, follow=True)
    os.chmod(path, m.mode & 0o7777)
    os.utime(path, (m.mtime, m.mtime))


def _chown(path: Path, m: tarfile.TarInfo, owners: bool, *, follow: bool) -> None:
    if owners and os.geteuid() == 0:
        os.chown(path, m.uid, m.gid, follow_symlinks=follow)


def _entries(root: Path) -> Iterator[tuple[str, str]]:
    """(host path, archive name) in a stable order: each directory before its contents."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            yield os.path.join(dirpath, name), os.path.normpath(os.path.join(rel_dir, name))
        for d in list(dirnames):
            p = os.path.join(dirpath, d)
            if os.path.islink(p):
                dirnames.remove(d)
            else:
                yield p, os.path.normpath(os.path.join(rel_dir, d))


def layer_to_tar(layer: Path, out: IO[bytes]) -> None:
    """Write the layer directory as an (uncompressed) OCI layer tar to ``out``."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for path, name in _entries(layer):
            st = os.lstat(path)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                head, tail = posixpath.split(name)
                info = tarfile.TarInfo(posixpath.join(head, WH + tail))
                info.mtime = int(st.st_mtime)
                tar.addfile(info)
                continue
            info = tar.gettarinfo(path, arcname=name)
            info.uname = info.gname = ""
            if info.isreg():
                with open(path, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
            if stat.S_ISDIR(st.st_mode):
                try:
                    opaque = os.getxattr(path, "trusted.overlay.opaque") == b"y"
                except OSError:
                    opaque = False
                if opaque:
                    tar.addfile(tarfile.TarInfo(posixpath.join(name, OPAQUE)))
