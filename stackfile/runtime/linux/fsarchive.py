"""Tar streams out of and into a :class:`Root`, never following a link the tree holds.

Writing walks directory fds: every entry is ``lstat``-ed and opened relative to its parent's fd with
``O_NOFOLLOW``, and an entry swapped for a symlink between the two is skipped, so a container
racing the walk can only change which of *its* files are read. Reading resolves each member's
parent inside the root (:meth:`Root.parent`) and creates every entry next to a temp name with
``O_EXCL | O_NOFOLLOW`` before renaming it into place: a swapped component leads back into the root.

With ``whiteouts`` the walk writes an overlay upper dir as an OCI layer: a 0/0 character device
becomes ``.wh.<name>`` and an opaque directory gets a ``.wh..wh..opq`` entry.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import tarfile
from collections.abc import Callable
from typing import IO

from stackfile.errors import InvalidSpec
from stackfile.runtime.linux.rootpath import Root, fd_path, lstat_at, make_dir_at, remove_at, temp_name


def _norm(path: str) -> str:
    """``path`` as an absolute normalised container path (never ``//x``)."""
    return posixpath.normpath("/" + path.lstrip("/"))


__all__ = ["Source", "extract", "resolve_source", "write_tree"]

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
WH, OPAQUE = ".wh.", ".wh..wh..opq"
Skip = Callable[[str, os.stat_result], bool]


class Source:
    """What a copy starts from: the entry's parent fd and name (or an fd of the followed target)."""

    def __init__(self, st: os.stat_result, parent: int = -1, name: str = "", fd: int = -1) -> None:
        self.st, self.parent, self.name, self.fd = st, parent, name, fd

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)

    def close(self) -> None:
        for fd in (self.parent, self.fd):
            if fd >= 0:
                os.close(fd)


def resolve_source(root: Root, path: str, *, follow: bool) -> Source:
    """The entry at container path ``path``; with ``follow`` a final symlink is followed (inside)."""
    norm = _norm(path)
    if follow or norm == "/":
        fd = root.open(norm, os.O_PATH)
        return Source(os.fstat(fd), fd=fd)
    parent, name = root.parent(norm)
    st = lstat_at(parent, name)
    if st is None:
        os.close(parent)
        raise FileNotFoundError(errno.ENOENT, "no such file or directory", path)
    return Source(st, parent=parent, name=name)


class _Padded:
    """A file read as exactly ``size`` bytes: zeros when it shrank while it was read."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.left = fd, size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = os.read(self.fd, n) if n else b""
        if len(data) < n:
            data += bytes(n - len(data))
        self.left -= len(data)
        return data


class _Writer:
    def __init__(self, tar: tarfile.TarFile, whiteouts: bool, skip: Skip | None) -> None:
        self.tar, self.whiteouts, self.skip = tar, whiteouts, skip
        self.links: dict[tuple[int, int], str] = {}

    def info(self, arc: str, st: os.stat_result, kind: bytes) -> tarfile.TarInfo:
        info = tarfile.TarInfo(arc)
        info.type = kind
        info.mode, info.uid, info.gid = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
        info.mtime = int(st.st_mtime)
        return info

    def entry(self, parent: int, name: str, st: os.stat_result, arc: str) -> None:
        """Write one entry found as ``name`` in directory fd ``parent`` (already lstat-ed)."""
        mode = st.st_mode
        if self.skip is not None and self.skip(arc, st):
            return
        if stat.S_ISDIR(mode):
            try:
                fd = os.open(name, _DIR, dir_fd=parent)
            except OSError:  # swapped for something else since the lstat: skip it
                return
            try:
                self.directory(fd, os.fstat(fd), arc)
            finally:
                os.close(fd)
        elif stat.S_ISREG(mode):
            try:
                fd = os.open(name, _FILE, dir_fd=parent)
            except OSError:
                return
            try:
                self.regular(fd, os.fstat(fd), arc)
            finally:
                os.close(fd)
        elif stat.S_ISLNK(mode):
            try:
                target = os.readlink(name, dir_fd=parent)
            except OSError:
                return
            info = self.info(arc, st, tarfile.SYMTYPE)
            info.linkname = target
            self.tar.addfile(info)
        elif stat.S_ISCHR(mode) and st.st_rdev == 0 and self.whiteouts:
            head, tail = posixpath.split(arc)
            self.tar.addfile(self.info(posixpath.join(head, WH + tail), st, tarfile.REGTYPE))
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info = self.info(arc, st, tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE)
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self.tar.addfile(info)
        elif stat.S_ISFIFO(mode):
            self.tar.addfile(self.info(arc, st, tarfile.FIFOTYPE))
        # sockets are not archived (as tar and Docker)

    def regular(self, fd: int, st: os.stat_result, arc: str) -> None:
        if not stat.S_ISREG(st.st_mode):
            return  # swapped since the lstat
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self.links:
            info = self.info(arc, st, tarfile.LNKTYPE)
            info.linkname = self.links[key]
            self.tar.addfile(info)
            return
        if st.st_nlink > 1:
            self.links[key] = arc
        info = self.info(arc, st, tarfile.REGTYPE)
        info.size = st.st_size
        self.tar.addfile(info, _Padded(fd, st.st_size))

    def directory(self, fd: int, st: os.stat_result, arc: str) -> None:
        if arc:
            self.tar.addfile(self.info(arc, st, tarfile.DIRTYPE))
            if self.whiteouts and _opaque(fd):
                self.tar.addfile(self.info(posixpath.join(arc, OPAQUE), st, tarfile.REGTYPE))
        for name in sorted(os.listdir(fd)):
            child = lstat_at(fd, name)
            if child is not None:
                self.entry(fd, name, child, posixpath.join(arc, name) if arc else name)


def _opaque(fd: int) -> bool:
    try:
        return os.getxattr(fd, "trusted.overlay.opaque") == b"y"
    except OSError:
        return False


def write_tree(src: Source, arc: str, out: IO[bytes], *, whiteouts: bool = False,
               skip: Skip | None = None) -> None:
    """Write ``src`` (recursively) to ``out`` as a tar stream, its top entry named ``arc``
    (``""``: a directory's contents only, as ``export`` and layers want)."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        w = _Writer(tar, whiteouts, skip)
        if src.fd >= 0:  # a followed target, opened O_PATH: reopen it for real
            if src.is_dir:
                fd = os.open(".", _DIR, dir_fd=src.fd)
                try:
                    w.directory(fd, os.fstat(fd), arc)
                finally:
                    os.close(fd)
            elif stat.S_ISREG(src.st.st_mode):
                fd = os.open(fd_path(src.fd), _FILE & ~os.O_NOFOLLOW)  # our own fd: its inode, no lookup
                try:
                    w.regular(fd, os.fstat(fd), arc)
                finally:
                    os.close(fd)
            else:
                raise InvalidSpec(f"{arc!r} is not a regular file or a directory")
        else:
            w.entry(src.parent, src.name, src.st, arc)


# ---------------------------------------------------------------------------------------------- reading
def _member_path(name: str, rebase: tuple[str, str] | None) -> str | None:
    """The member's path below the destination after ``rebase`` (old top → new top); None: refuse."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    if rebase is not None and parts and parts[0] == rebase[0]:
        parts = [p for p in (rebase[1], *parts[1:]) if p]
    return "/".join(parts)


def extract(root: Root, dest: str, members: tarfile.TarFile, *, rebase: tuple[str, str] | None = None,
            owner: tuple[int, int] | None = None, first: tarfile.TarInfo | None = None) -> int:
    """Extract every member of ``members`` below container directory ``dest``; returns the count.

    ``owner`` forces every entry's uid/gid (None keeps the archive's). ``first``: a member already
    read from the stream (to decide ``rebase``)."""
    count = 0
    dirs: list[tuple[str, tarfile.TarInfo]] = []
    stream = members
    todo = [first] if first is not None else []
    while True:
        m = todo.pop() if todo else stream.next()
        if m is None:
            break
        rel = _member_path(m.name, rebase)
        if rel is None:
            raise InvalidSpec(f"refusing archive member {m.name!r}: it climbs out of the destination (..)")
        path = posixpath.join(dest, rel) if rel else dest
        uid, gid = owner if owner is not None else (m.uid, m.gid)
        if not rel:
            if m.isdir():
                dirs.append((path, m))
                count += 1
                continue
            raise InvalidSpec(f"cannot overwrite directory {dest!r} with the non-directory {m.name!r}")
        _put(root, path, m, stream, uid, gid, rebase, dest)
        if m.isdir():
            dirs.append((path, m))
        count += 1
    for path, m in reversed(dirs):  # after their contents changed them
        fd = root.open_dir(path)
        try:
            os.fchown(fd, *(owner if owner is not None else (m.uid, m.gid)))
            os.fchmod(fd, m.mode & 0o7777)
            os.utime(fd, (m.mtime, m.mtime))
        finally:
            os.close(fd)
    return count


def _put(root: Root, path: str, m: tarfile.TarInfo, tar: tarfile.TarFile, uid: int, gid: int,
         rebase: tuple[str, str] | None, dest: str) -> None:
    dfd, name = root.parent(path, create=True)
    try:
        existing = lstat_at(dfd, name)
        if m.isdir():
            if existing is not None and not stat.S_ISDIR(existing.st_mode):
                remove_at(dfd, name)
            os.close(make_dir_at(dfd, name, 0o700))
            return
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            raise InvalidSpec(f"cannot overwrite directory {path!r} with non-directory {m.name!r}")
        tmp = temp_name(name)
        try:
            _create(root, dfd, tmp, m, tar, uid, gid, rebase, dest)
            os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise
    finally:
        os.close(dfd)


def _create(root: Root, dfd: int, tmp: str, m: tarfile.TarInfo, tar: tarfile.TarFile, uid: int, gid: int,
            rebase: tuple[str, str] | None, dest: str) -> None:
    if m.isreg():
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o600, dir_fd=dfd)
        try:
            src = tar.extractfile(m)
            assert src is not None
            while chunk := src.read(1 << 20):
                os.write(fd, chunk)
            os.fchown(fd, uid, gid)
            os.fchmod(fd, m.mode & 0o7777)
            os.utime(fd, (m.mtime, m.mtime))
        finally:
            os.close(fd)
    elif m.issym():
        os.symlink(m.linkname, tmp, dir_fd=dfd)
        os.chown(tmp, uid, gid, dir_fd=dfd, follow_symlinks=False)
    elif m.islnk():
        rel = _member_path(m.linkname, rebase)
        if not rel:
            raise InvalidSpec(f"refusing archive member {m.name!r}: bad hard link target {m.linkname!r}")
        fd = root.open(posixpath.join(dest, rel), os.O_PATH, follow=False)
        try:
            os.link(fd_path(fd), tmp, dst_dir_fd=dfd, follow_symlinks=True)
        finally:
            os.close(fd)
    elif m.ischr() or m.isblk() or m.isfifo():
        kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK if m.isblk() else stat.S_IFIFO
        os.mknod(tmp, kind | (m.mode & 0o7777), os.makedev(m.devmajor, m.devminor), dir_fd=dfd)
        os.chown(tmp, uid, gid, dir_fd=dfd, follow_symlinks=False)
    else:
        raise InvalidSpec(f"unsupported archive member {m.name!r} (type {m.type!r})")
