"""Paths into a container, resolved inside it and race-free, for every place the host touches its files.

A :class:`Root` holds one directory fd (a container's ``/proc/<pid>/root``, its upper dir, a volume);
every path given to it is looked up *below* that fd as if it were ``/``: an absolute symlink
restarts at the root, ``..`` never climbs above it, and no link can take a lookup to the host. The
kernel does it in one call where it has ``openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`` (Linux
5.6); otherwise, and to create missing directories, the path is walked one component at a time with
``O_NOFOLLOW`` and each symlink met is read and resolved by hand, the same rules. Neither way looks
a path up twice, so a container swapping a directory for a symlink while the host works (the
``docker cp`` race, CVE-2018-15664) only changes which in-container file is used.

Proc "magic" links (``/proc/<pid>/root``, ``/proc/self/fd/N``) are never followed: openat2
refuses them (``ELOOP``); the walk only ever reads a link's text and resolves that inside the root
(``/proc/self/fd/3`` naming ``/etc`` leads to the container's ``/etc``, never the host's).
"""

from __future__ import annotations

import errno
import itertools
import os
import posixpath
import stat

from stackfile.runtime.linux import _libc

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import (see stackfile/record.py)
if TYPE_CHECKING:
    from typing import Self

__all__ = ["Root", "fd_path", "openat2_available"]

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_RESOLVE = _libc.RESOLVE_IN_ROOT | _libc.RESOLVE_NO_MAGICLINKS
_MAX_LINKS = 40
_counter = itertools.count()
_openat2_ok: bool | None = None  # probed on first use


def openat2_available() -> bool:
    """True when this kernel has openat2 with ``RESOLVE_IN_ROOT`` (probed once)."""
    global _openat2_ok
    if _openat2_ok is None:
        try:
            os.close(_libc.openat2(-100, "/", os.O_PATH | os.O_CLOEXEC, 0, _RESOLVE))  # AT_FDCWD
            _openat2_ok = True
        except OSError:  # ENOSYS (kernel < 5.6), EPERM (a seccomp filter), EINVAL (unknown flag)
            _openat2_ok = False
    return _openat2_ok


def fd_path(fd: int) -> str:
    """``/proc/self/fd/<fd>``: a path for calls that take no fd (mount(2) onto an opened target)."""
    return f"/proc/self/fd/{fd}"


class Root:
    """A directory opened once; every path below it is resolved inside it.

    ``fallback=True`` forces the ``O_NOFOLLOW`` walk even where openat2 exists (tests use it).
    """

    def __init__(self, path: str, *, fallback: bool = False) -> None:
        self.path = path
        self.fallback = fallback or not openat2_available()
        self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ lookups
    def open(self, path: str, flags: int = os.O_RDONLY, mode: int = 0o644, *, follow: bool = True) -> int:
        """``open(2)`` of container path ``path``; ``follow=False`` refuses a final symlink (ELOOP)."""
        flags |= os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
        mode = mode if flags & os.O_CREAT else 0  # openat2 refuses a mode it would not use
        if not self.fallback:
            for _ in range(3):  # EAGAIN: a rename raced with a ".." lookup; the kernel asks to retry
                try:
                    return _libc.openat2(self.fd, path, flags, mode, _RESOLVE)
                except BlockingIOError:
                    continue
        return _walk(self.fd, path, flags & ~os.O_NOFOLLOW, mode, create=False, follow=follow)

    def open_dir(self, path: str, *, create: bool = False, mode: int | None = None) -> int:
        """An fd of container directory ``path``. With ``create``, missing directories are made,
        with ``mode`` (owned by the caller) or, when None, the owner and mode of their parent."""
        if not self.fallback:
            try:
                return self.open(path, os.O_RDONLY | os.O_DIRECTORY)
            except FileNotFoundError:
                if not create:
                    raise
        return _walk(self.fd, path, _DIR, 0, create=create, follow=True, dir_mode=mode)

    def touch(self, path: str, mode: int = 0o644, *, dir_mode: int = 0o755) -> int:
        """An fd of ``path``, made an empty file when missing (through a dangling link too, with
        any missing directory on the way), as mount targets need. The caller closes it."""
        try:
            return self.open(path, os.O_PATH)
        except FileNotFoundError:
            pass
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
        try:
            return self.open(path, flags, mode)
        except FileNotFoundError:  # a missing directory on the way (the walk makes it)
            return _walk(self.fd, path, flags, mode, create=True, follow=True, dir_mode=dir_mode)

    def parent(self, path: str, *, create: bool = False, mode: int | None = None) -> tuple[int, str]:
        """(fd of the directory holding ``path``, its last component) for the ``*at`` calls."""
        head, name = split(path)
        return self.open_dir(head, create=create, mode=mode), name

    def lstat(self, path: str) -> os.stat_result | None:
        """``lstat`` of container path ``path`` (its parent resolved inside); None when missing."""
        try:
            dfd, name = self.parent(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            return lstat_at(dfd, name)
        finally:
            os.close(dfd)

    # ------------------------------------------------------------------ reading and writing
    def read(self, path: str, limit: int = 1 << 20) -> bytes:
        """Up to ``limit`` bytes of container file ``path`` (FileNotFoundError when missing)."""
        fd = self.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file", path)
            with os.fdopen(fd, "rb", closefd=False) as fh:
                return fh.read(limit)
        finally:
            os.close(fd)

    def write(self, path: str, data: bytes, mode: int = 0o644, *, uid: int = 0, gid: int = 0,
              create_parents: bool = True) -> None:
        """Atomically make container path ``path`` a regular file holding ``data``: a temp file in
        the target directory, written, owned, then renamed over whatever was there."""
        dfd, name = self.parent(path, create=create_parents)
        try:
            tmp = temp_name(name)
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                          dir_fd=dfd)
            try:
                try:
                    os.write(out, data)
                    os.fchown(out, uid, gid)
                    os.fchmod(out, mode)
                finally:
                    os.close(out)
                os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            except BaseException:
                _unlink_quiet(dfd, tmp)
                raise
        finally:
            os.close(dfd)

    def remove(self, path: str) -> bool:
        """Delete container path ``path`` (a directory recursively, a symlink itself); False if missing."""
        try:
            dfd, name = self.parent(path)
        except (FileNotFoundError, NotADirectoryError):
            return False
        try:
            return remove_at(dfd, name)
        finally:
            os.close(dfd)


# ---------------------------------------------------------------------- *at helpers (shared)
def split(path: str) -> tuple[str, str]:
    """(parent, name) of a container path, normalised; the root itself has no name."""
    head, name = posixpath.split(posixpath.normpath("/" + path))
    if not name:
        raise ValueError("the container's root directory has no parent")
    return head, name


def temp_name(name: str) -> str:
    """A name for a temp file next to ``name``, unique in this process."""
    return f".{name[:200]}.stackfile-{os.getpid()}-{next(_counter)}"


def lstat_at(dfd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def remove_at(dfd: int, name: str) -> bool:
    """Delete ``name`` in ``dfd`` (never following it); False when it was not there."""
    st = lstat_at(dfd, name)
    if st is None:
        return False
    if stat.S_ISDIR(st.st_mode):
        import shutil  # off the container start path

        shutil.rmtree(name, dir_fd=dfd)  # fd-based and symlink-safe (rmtree.avoids_symlink_attacks)
    else:
        os.unlink(name, dir_fd=dfd)
    return True


def make_dir_at(dfd: int, name: str, mode: int | None = None) -> int:
    """Open directory ``name`` in ``dfd``, making it when missing: ``mode`` owned by the caller,
    or (None) the owner and mode of ``dfd``."""
    try:
        return os.open(name, _DIR, dir_fd=dfd)
    except FileNotFoundError:
        pass
    try:
        os.mkdir(name, 0o700, dir_fd=dfd)
    except FileExistsError:
        return os.open(name, _DIR, dir_fd=dfd)
    fd = os.open(name, _DIR, dir_fd=dfd)
    if mode is None:
        parent = os.fstat(dfd)
        os.fchown(fd, parent.st_uid, parent.st_gid)
        mode = stat.S_IMODE(parent.st_mode)
    os.fchmod(fd, mode)
    return fd


def _unlink_quiet(dfd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dfd)
    except OSError:
        pass


# ---------------------------------------------------------------------- the O_NOFOLLOW walk
def _walk(rootfd: int, path: str, flags: int, mode: int, *, create: bool, follow: bool,
          dir_mode: int | None = None) -> int:
    """Resolve ``path`` below ``rootfd`` one component at a time, never letting the kernel follow
    a symlink: each one is read and its text resolved inside the root (absolute → from the root)."""
    parts = _parts(path)
    stack = [os.dup(rootfd)]
    links = 0
    try:
        while parts:
            name = parts.pop(0)
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            if not parts and not follow:
                return os.open(name, flags | os.O_NOFOLLOW, mode, dir_fd=stack[-1])
            try:
                if parts:
                    at = stack[-1]
                    sub = make_dir_at(at, name, dir_mode) if create else os.open(name, _DIR, dir_fd=at)
                    stack.append(sub)
                    continue
                fd = _open_last(stack[-1], name, flags, mode, create, dir_mode)
                if fd >= 0:
                    return fd
                target = os.readlink(name, dir_fd=stack[-1])  # an O_PATH open of a symlink
            except OSError as exc:
                target = _link_target(stack[-1], name, exc)
            links += 1
            if links > _MAX_LINKS:
                raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
            if target.startswith("/"):
                while len(stack) > 1:
                    os.close(stack.pop())
            parts = _parts(target) + parts
        return os.open(".", flags, mode, dir_fd=stack[-1])  # the path ended at a directory
    finally:
        for fd in stack:
            os.close(fd)


def _open_last(dfd: int, name: str, flags: int, mode: int, create: bool, dir_mode: int | None) -> int:
    """Open the last component without following it; -1 when it is a symlink (O_PATH opens those)."""
    if create and flags & os.O_DIRECTORY:
        return make_dir_at(dfd, name, dir_mode)
    fd = os.open(name, flags | os.O_NOFOLLOW, mode, dir_fd=dfd)
    if flags & os.O_PATH and stat.S_ISLNK(os.fstat(fd).st_mode):
        os.close(fd)
        return -1
    return fd


def _link_target(dfd: int, name: str, exc: OSError) -> str:
    """The target of symlink ``name``, or re-raise ``exc`` when ``name`` is not a symlink."""
    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
        raise exc
    st = lstat_at(dfd, name)
    if st is None or not stat.S_ISLNK(st.st_mode):
        raise exc
    return os.readlink(name, dir_fd=dfd)


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]
