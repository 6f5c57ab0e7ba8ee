"""One command at a time changes a project: a per-project ``flock`` held across processes.

``up``, ``down``, ``start``/``stop``/``restart``/``kill``/``rm``/``pause``/``unpause`` and the
changes ``watch`` applies take the lock of their project for as long as they change it. A second
command on the same project waits (it says once that it waits, and for which pid), then runs
against what the first one left, so the project converges; different projects never wait for
each other. The lock file lives under ``<root>/projects/.locks/`` and is never deleted (deleting
a locked file would let a third process lock a new file of the same name). The lock is reentrant
within a process, so an ``up`` run by ``run`` for its dependencies does not wait for itself, and
the descriptor is close-on-exec, so no shim or helper a command starts keeps the project locked.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from stackfile.events import Event, EventSink, discard
from stackfile.store.paths import StorePaths

__all__ = ["changing", "holder", "lock_path"]

_held: dict[str, int] = {}  # lock path → depth, in this process
_guard = threading.Lock()


def lock_path(paths: StorePaths, project: str) -> str:
    """``<root>/projects/.locks/<project>.lock``."""
    return os.path.join(paths.root_str, "projects", ".locks", f"{project}.lock")


def holder(path: str) -> int | None:
    """The pid written by the process holding (or that last held) the lock at ``path``."""
    try:
        with open(path, "rb") as fh:
            text = fh.read(32).strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextmanager
def changing(paths: StorePaths, project: str, sink: EventSink = discard) -> Iterator[None]:
    """Hold ``project``'s lock; if another process holds it, say so on ``sink`` and wait."""
    path = lock_path(paths, project)
    with _guard:
        depth = _held.get(path, 0)
        if depth:
            _held[path] = depth + 1
    if depth:
        try:
            yield
        finally:
            with _guard:
                _held[path] -= 1
        return
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            pid = holder(path)
            who = f" (pid {pid})" if pid else ""
            sink(Event("project.waiting",
                       f"another stackfile command{who} is changing project {project!r}; waiting for it"))
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        with _guard:
            _held[path] = 1
        try:
            yield
        finally:
            with _guard:
                del _held[path]
    finally:
        os.close(fd)  # releases the lock
