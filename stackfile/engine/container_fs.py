"""A container's files: ``cp`` in and out, ``diff``, ``export`` (Docker's rules and output).

Every access goes through :mod:`stackfile.runtime.linux.rootpath` in a helper process
(:mod:`stackfile.runtime.linux.fsview`): a running container is read and written through
``/proc/<pid>/root`` (its volumes included, as ``docker cp``); a stopped one through its overlay
mounted in the helper's private mount namespace. ``export`` always reads the overlay alone.
Data crosses between the host and the helper as a tar stream over a pipe.

``cp``'s rules are Docker's: a directory copied onto an existing directory goes *into* it (its
contents only when the source ends in ``/.``); onto a missing path it becomes that path, whose
parent must exist; a file onto a directory goes into it; onto a file it replaces it; a source
ending in ``/`` must be a directory; a destination ending in ``/`` must exist.
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
from collections.abc import Callable
from typing import IO

from stackfile.errors import Conflict, InvalidSpec, Location, NotFound, StackfileError
from stackfile.runtime.api import ContainerState
from stackfile.runtime.linux.fsarchive import extract, resolve_source, write_tree
from stackfile.runtime.linux.fsview import Helper, View
from stackfile.runtime.linux.rootpath import Root
from stackfile.store.paths import StorePaths


def _norm(path: str) -> str:
    """``path`` as an absolute normalised container path (never ``//x``)."""
    return posixpath.normpath("/" + path.lstrip("/"))


__all__ = ["CopyResult", "copy", "export", "parse_copy_arg", "view_of"]


class CopyResult(dict[str, object]):
    """JSON-able result of a copy: ``{"direction": "in"|"out", "bytes": N}`` (the tar stream's size,
    what Docker reports as copied)."""


class _Counting:
    """A binary file object that counts what goes through it."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner, self.count = inner, 0

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.count += len(data)
        return data

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return self.inner.write(data)

    def flush(self) -> None:
        self.inner.flush()


def parse_copy_arg(arg: str) -> tuple[str | None, str]:
    """``CONTAINER:PATH`` → (container, path); a local path (``-``, ``./a:b``, ``/x:y``) → (None, path)."""
    if arg == "-" or arg.startswith(("/", ".")):
        return None, arg
    ref, sep, path = arg.partition(":")
    if not sep or not ref:
        return None, arg
    return ref, path


def view_of(paths: StorePaths, ref: str, *, live: bool = True, writable: bool = False) -> View:
    """How to see container ``ref``'s files: ``live`` through its running PID 1 when it runs,
    else (or when not ``live``) its overlay."""
    from stackfile.runtime import get_runtime

    rt = get_runtime(paths)
    st = rt.inspect(ref)
    running = st.state in (ContainerState.RUNNING, ContainerState.PAUSED, ContainerState.RESTARTING)
    if live and running and st.pid:
        return View(pid=st.pid)
    if writable and running:
        raise Conflict(f"container {st.id[:12]} is running without a process to write through")
    layers = tuple(rt.spec_of(st.id).layers)
    return View(store_root=str(paths.root), container_dir=str(paths.container(st.id)), layers=layers,
                short_links=str(paths.short_links), writable=writable)


def _check_source(path: str) -> None:
    if not path:
        raise InvalidSpec("empty source path", location=Location(key_path="SRC_PATH"))


def _stream_out(src_root: Root, path: str, follow: bool, out: IO[bytes]) -> None:
    """Docker's source rules, then ``path`` as a tar stream whose top entry is its base name."""
    norm = _norm(path)
    try:
        src = resolve_source(src_root, path, follow=follow or path.endswith(("/", "/.")))
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(f"no such file or directory: {path}") from None
    try:
        if path.endswith(("/", "/.")) and not src.is_dir:
            raise InvalidSpec(f"{path}: not a directory")
        base = posixpath.basename(norm) or "."
        write_tree(src, base, out)
    finally:
        src.close()


def _stream_in(dest_root: Root, dest: str, stream: IO[bytes], *, contents: bool,
               owner: tuple[int, int] | None) -> int:
    """Docker's destination rules for the tar on ``stream`` (top entry = the source); entries."""
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        first = tar.next()
        if first is None:
            return 0
        top = first.name.strip("/").split("/")[0]
        norm = _norm(dest)
        st = _stat(dest_root, norm)
        if st is not None and stat.S_ISDIR(st.st_mode):
            rebase = (top, "") if contents and first.isdir() else None
            return extract(dest_root, norm, tar, rebase=rebase, owner=owner, first=first)
        if st is not None and first.isdir():
            raise InvalidSpec(f"cannot copy a directory to a file: {dest}")
        if st is None and dest.endswith("/"):
            raise NotFound(f"no such directory: {dest}", hint="the destination directory must exist")
        parent = posixpath.dirname(norm)
        pst = _stat(dest_root, parent)
        if pst is None or not stat.S_ISDIR(pst.st_mode):
            raise NotFound(f"no such directory: {parent}",
                           hint="the destination's parent directory must exist")
        rebase = (top, posixpath.basename(norm))
        return extract(dest_root, parent, tar, rebase=rebase, owner=owner, first=first)


def _stream_into_dir(dest_root: Root, dest: str, stream: IO[bytes], owner: tuple[int, int] | None) -> int:
    """``cp - DEST``: a tar from stdin, extracted as it is into directory ``dest``."""
    norm = _norm(dest)
    st = _stat(dest_root, norm)
    if st is None or not stat.S_ISDIR(st.st_mode):
        raise NotFound(f"destination {dest} must be an existing directory when the source is '-'")
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        return extract(dest_root, norm, tar, owner=owner)


def _stat(root: Root, path: str) -> os.stat_result | None:
    try:
        fd = root.open(path, os.O_PATH)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def _pump(helper_job: Callable[[Root, int], None], view: View, host_side: Callable[[int], object],
          *, helper_writes: bool) -> object:
    """Run ``helper_job(root, fd)`` in a helper seeing ``view`` while ``host_side(fd)`` runs here,
    joined by a pipe (the helper writes when ``helper_writes``)."""
    r, w = os.pipe2(os.O_CLOEXEC)
    mine, theirs = (r, w) if helper_writes else (w, r)
    helper = Helper(view, lambda root: helper_job(root, theirs), close_in_child=(mine,))
    os.close(theirs)
    result: object = None
    try:
        result = host_side(mine)
    except BrokenPipeError:
        pass  # the helper failed: its error is raised by wait()
    except BaseException as exc:
        os.close(mine)  # the helper stops at its next read or write
        try:
            helper.wait()
        except StackfileError as helper_error:
            if isinstance(exc, Exception) and not isinstance(exc, StackfileError):  # the stream broke
                # because the helper failed (a Ctrl-C stays a Ctrl-C)
                raise helper_error from None
        raise  # the host side's own error (the helper only saw the pipe close)
    os.close(mine)
    helper.wait()
    return result


def _host_root(dest: str) -> tuple[Root, str]:
    """A :class:`Root` at the host directory holding ``dest`` and ``dest`` below it: what a copy out
    writes stays below that directory, whatever the archive holds."""
    full = os.path.abspath(dest)
    parent = os.path.dirname(full)
    try:
        root = Root(parent)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(f"no such directory: {parent}", location=Location(file=dest),
                       hint="the destination's parent directory must exist") from None
    inside = "/" + os.path.basename(full)
    return root, inside + ("/" if dest.endswith("/") and inside != "/" else "")


def copy(paths: StorePaths, src: str, dest: str, *, archive: bool = False, follow_link: bool = False,
         stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None) -> CopyResult:
    """``cp SRC DEST``: one side ``CONTAINER:PATH``, the other a host path or ``-`` (a tar stream on
    ``stdin``/``stdout``). ``archive`` keeps uid/gid; otherwise copies in are owned by root and
    copies out by the caller."""
    src_ref, src_path = parse_copy_arg(src)
    dest_ref, dest_path = parse_copy_arg(dest)
    if (src_ref is None) == (dest_ref is None):
        raise InvalidSpec("copying between containers is not supported" if src_ref else
                          "one of SRC and DEST must be CONTAINER:PATH",
                          hint="stackfile container cp CONTAINER:SRC_PATH DEST_PATH|- or "
                               "stackfile container cp SRC_PATH|- CONTAINER:DEST_PATH")
    _check_source(src_path)
    if src_ref is not None:
        return _copy_out(paths, src_ref, src_path, dest_path, archive, follow_link, stdout)
    assert dest_ref is not None
    return _copy_in(paths, src_path, dest_ref, dest_path, archive, follow_link, stdin)


def _copy_out(paths: StorePaths, ref: str, path: str, dest: str, archive: bool, follow: bool,
              stdout: IO[bytes] | None) -> CopyResult:
    view = view_of(paths, ref)

    def job(root: Root, fd: int) -> None:
        with os.fdopen(fd, "wb", closefd=False) as out:
            _stream_out(root, path, follow, out)

    if dest == "-":
        if stdout is None:
            raise InvalidSpec("'-' as DEST needs an output stream")

        def to_stdout(fd: int) -> int:
            total = 0
            while chunk := os.read(fd, 1 << 16):
                stdout.write(chunk)
                total += len(chunk)
            stdout.flush()
            return total

        n = _pump(job, view, to_stdout, helper_writes=True)
        return CopyResult(direction="out", bytes=n)
    owner = None if archive else (os.geteuid(), os.getegid())

    def to_host(fd: int) -> int:
        host, inside = _host_root(dest)
        with os.fdopen(fd, "rb", closefd=False) as fh, host:
            counted = _Counting(fh)
            _stream_in(host, inside, counted, contents=path.endswith("/."), owner=owner)  # type: ignore[arg-type]
            return counted.count

    n = _pump(job, view, to_host, helper_writes=True)
    return CopyResult(direction="out", bytes=n)


def _copy_in(paths: StorePaths, src: str, ref: str, dest: str, archive: bool, follow: bool,
             stdin: IO[bytes] | None) -> CopyResult:
    if src != "-" and not os.path.lexists(src.rstrip("/") or "/"):
        raise NotFound(f"no such file or directory: {src}", location=Location(file=src))
    view = view_of(paths, ref, writable=True)
    owner = None if archive else (0, 0)

    def job(root: Root, fd: int) -> None:
        with os.fdopen(fd, "rb", closefd=False) as fh:
            if src == "-":
                _stream_into_dir(root, dest, fh, owner)
            else:
                _stream_in(root, dest, fh, contents=src.endswith("/."), owner=owner)

    def from_host(fd: int) -> int:
        with os.fdopen(fd, "wb", closefd=False) as raw:
            out = _Counting(raw)
            if src == "-":
                if stdin is None:
                    raise InvalidSpec("'-' as SRC needs an input stream")
                while chunk := stdin.read(1 << 16):
                    out.write(chunk)
            else:
                with Root("/") as host:
                    tail = "/." if src.endswith("/.") else "/" if src.endswith("/") else ""
                    _stream_out(host, os.path.abspath(src) + tail, follow, out)  # type: ignore[arg-type]
            return out.count

    n = _pump(job, view, from_host, helper_writes=False)
    return CopyResult(direction="in", bytes=n)


def export(paths: StorePaths, ref: str, out: IO[bytes]) -> None:
    """``export``: the container's flattened file system (its layers and changes, no mounts) as a tar."""
    view = view_of(paths, ref, live=False)

    def job(root: Root, fd: int) -> None:
        with os.fdopen(fd, "wb", closefd=False) as fh:
            write_tree(resolve_source(root, "/", follow=True), "", fh)

    def pump(fd: int) -> None:
        while chunk := os.read(fd, 1 << 16):
            out.write(chunk)
        out.flush()

    _pump(job, view, pump, helper_writes=True)
