"""Network namespace files: created first (the CNI order), bind-mounted under ``StorePaths.netns``.

The system calls go through the runtime's ctypes module (the one place ctypes is allowed; imported
lazily so listings stay cheap); namespace-changing calls run in a throwaway thread, since network
namespaces are per thread.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from stackfile.errors import Internal

__all__ = ["concurrently", "create_netns", "in_netns", "remove_netns"]

T = TypeVar("T")


def in_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a fresh thread (whose namespaces may change) and hand back its result or error."""
    result: list[tuple[bool, Any]] = []

    def body() -> None:
        try:
            result.append((True, fn()))
        except BaseException as exc:  # re-raised in the caller's thread
            result.append((False, exc))

    thread = threading.Thread(target=body, name="netns", daemon=True)
    thread.start()
    thread.join()
    ok, value = result[0]
    if not ok:
        raise value
    return value


@contextlib.contextmanager
def concurrently(fn: Callable[..., object], *args: object) -> Iterator[None]:
    """Run ``fn(*args)`` in a thread while the block runs; wait for it and raise its error after."""
    errors: list[BaseException] = []

    def body() -> None:
        try:
            fn(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=body, name="network-side", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
    if errors:
        raise errors[0]


def in_netns(path: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` inside the namespace bind-mounted at ``path`` (sockets it opens live there)."""
    from stackfile.runtime.linux import _libc

    def joined() -> T:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _libc.setns(fd, _libc.CLONE_NEWNET)
        finally:
            os.close(fd)
        return fn()

    return in_thread(joined)


def create_netns(path: Path) -> None:
    """A new, empty network namespace kept alive by a bind mount at ``path`` (~0.3 ms; the
    ``unshare --net=FILE`` binary costs ~3 ms of fork and exec)."""
    from stackfile.runtime.linux import _libc

    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=False)

    def make() -> None:
        _libc.unshare(_libc.CLONE_NEWNET)
        _libc.mount("/proc/thread-self/ns/net", str(path), None, _libc.MS_BIND)

    try:
        in_thread(make)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise Internal(f"could not create network namespace {path}: {exc}") from None


def move_netns(old: Path, new: Path) -> None:
    """Keep the namespace bound at ``old`` alive at ``new`` instead (a second bind mount, then the
    first one goes); the processes inside are not touched."""
    from stackfile.runtime.linux import _libc

    new.touch(mode=0o600, exist_ok=False)
    try:
        _libc.mount(str(old), str(new), None, _libc.MS_BIND)
    except OSError as exc:
        new.unlink(missing_ok=True)
        raise Internal(f"could not move network namespace {old} to {new}: {exc}") from None
    remove_netns(old)


def remove_netns(path: Path) -> None:
    """Detach the bind mount and delete the file (missing is fine)."""
    if not path.exists():
        return
    if _is_mounted(path):
        from stackfile.runtime.linux import _libc

        _libc.umount2(str(path), _libc.MNT_DETACH)
    path.unlink(missing_ok=True)


def _is_mounted(path: Path) -> bool:
    target = os.fsencode(str(path))
    with open("/proc/self/mountinfo", "rb") as fh:
        return any(line.split()[4] == target for line in fh)
