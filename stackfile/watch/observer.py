"""One file-system observer per project: inotify where it works, polling where it cannot.

inotify needs one watch per *directory* (files are free), so a 100,000-file tree in 5,000
directories costs 5,000 watches. When the per-user limit is reached the kernel says ENOSPC and we
say which sysctl raises it. Network and FUSE file systems deliver no inotify events for changes
made elsewhere, so paths on them are polled, and the caller is told.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from stackfile.errors import Unavailable

__all__ = ["POLLED_FILESYSTEMS", "Change", "TreeObserver", "filesystem_of", "inotify_limit_error",
           "unwatched_dirs", "watch_roots"]

# File systems whose remote or user-space changes inotify does not see.
POLLED_FILESYSTEMS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "vboxsf", "vmhgfs",
                                "fuse.sshfs", "fuse.vmhgfs-fuse", "fuse.rclone", "afs", "ceph", "glusterfs"})

_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent, FileMovedEvent,
    DirCreatedEvent, DirDeletedEvent, DirMovedEvent,
]


@dataclass(frozen=True)
class Change:
    """One observed change: ``kind`` is ``created``, ``modified`` or ``deleted`` (a move is both)."""

    path: str
    kind: str
    is_dir: bool
    at: float  # time.monotonic() when the observer saw it
    writer: str = ""  # "open": a writer still has the file open; "closed": it closed it; "": unknown


def watch_roots(paths: Iterable[Path]) -> list[tuple[Path, bool]]:
    """The fewest ``(directory, recursive)`` watches covering ``paths``.

    A directory is watched recursively; a file, or a path that does not exist yet, through its
    parent directory (non-recursively). Watches inside a recursive watch are dropped.
    """
    wanted: dict[Path, bool] = {}
    for p in sorted(set(paths)):
        directory, recursive = (p, True) if p.is_dir() else (p.parent, False)
        wanted[directory] = wanted.get(directory, False) or recursive
    recursive_dirs = [d for d, r in wanted.items() if r]
    return [(d, r) for d, r in sorted(wanted.items())
            if not any(d != top and d.is_relative_to(top) for top in recursive_dirs)]


def filesystem_of(path: Path) -> str:
    """The type of the file system ``path`` is on (from /proc/self/mountinfo), ``""`` if unknown."""
    best, fstype = "", ""
    target = os.path.realpath(path)
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return ""
    for line in lines:
        fields = line.split(" ")
        point = fields[4].replace("\\040", " ")
        if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, fstype = point, fields[fields.index("-") + 1]
    return fstype


class _Handler(FileSystemEventHandler):
    """Turns watchdog events into :class:`Change` s.

    With ``writers`` (inotify only: polling sees no opens or closes) a file's IN_CREATE or
    IN_MODIFY says a writer has it open, and its IN_CLOSE_WRITE that the write is done.
    """

    def __init__(self, emit: Callable[[list[Change]], None], *, writers: bool = False) -> None:
        self._emit = emit
        self._writers = writers

    def dispatch(self, event: FileSystemEvent) -> None:
        now = time.monotonic()
        src = os.fsdecode(event.src_path)
        kind = event.event_type
        if kind == "modified" and event.is_directory:
            return  # a directory's mtime moves with its entries; the entries report themselves
        if kind == "moved":
            dest = os.fsdecode(event.dest_path)
            self._emit([Change(src, "deleted", event.is_directory, now),
                        Change(dest, "created", event.is_directory, now)])
        elif kind == "deleted":
            self._emit([Change(src, kind, event.is_directory, now)])
        elif kind == "closed":
            self._emit([Change(src, "modified", False, now, "closed" if self._writers else "")])
        else:  # created, modified
            writing = self._writers and not event.is_directory and _is_regular(src)
            self._emit([Change(src, kind, event.is_directory, now, "open" if writing else "")])


def _is_regular(path: str) -> bool:
    """A regular file (a symlink, fifo or device made by IN_CREATE gets no close to wait for)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


class TreeObserver:
    """Watches directories and hands every change to ``emit`` (called on the observer's thread)."""

    def __init__(self, paths: Iterable[Path], emit: Callable[[list[Change]], None], *,
                 poll: bool = False, poll_interval: float = 0.5) -> None:
        self.roots = watch_roots(paths)
        self.polled: dict[Path, str] = {}  # root -> why it is polled
        for directory, _ in self.roots:
            fstype = filesystem_of(directory)
            if poll or fstype in POLLED_FILESYSTEMS:
                self.polled[directory] = "requested" if poll else f"{fstype} delivers no inotify events"
        self._emit = emit
        self._poll_interval = poll_interval
        self._observers: list[BaseObserver] = []

    def start(self) -> TreeObserver:
        """Add the watches (raises :class:`Unavailable` with the sysctl to raise on a kernel limit)."""
        inotify_roots = [(d, r) for d, r in self.roots if d not in self.polled]
        try:
            self._start(inotify_roots, Observer, _Handler(self._emit, writers=True))
            self._start([(d, r) for d, r in self.roots if d in self.polled],
                        lambda: PollingObserver(timeout=self._poll_interval), _Handler(self._emit))
            missing = unwatched_dirs(inotify_roots)
            if missing:  # a directory made during start-up is added by the emitter thread: give it time
                time.sleep(0.1)
                missing = unwatched_dirs(inotify_roots)
            if missing:  # watchdog < 7.1 skips subdirectories it cannot watch without a word
                raise OSError(errno.ENOSPC, _not_watched(missing))
        except OSError as exc:
            if exc.errno == errno.ENOSPC and "are not watched" not in str(exc.strerror or ""):
                # watchdog >= 7.1 raises at the first directory it cannot watch: say how many remain
                exc = OSError(errno.ENOSPC, _not_watched(unwatched_dirs(inotify_roots)))
            self.stop()
            raise inotify_limit_error(exc, self.roots) from exc
        return self

    def _start(self, roots: list[tuple[Path, bool]], make: Callable[[], BaseObserver],
               handler: _Handler) -> None:
        if not roots:
            return
        observer = make()  # an inotify observer opens its inotify fd here
        self._observers.append(observer)
        for directory, recursive in roots:
            observer.schedule(handler, str(directory), recursive=recursive, event_filter=_EVENTS)
        observer.start()

    def stop(self) -> None:
        for observer in self._observers:
            if observer.is_alive():
                observer.stop()
                observer.join()
        self._observers.clear()


def _not_watched(missing: list[str]) -> str:
    return f"{len(missing)} directories are not watched, e.g. {missing[0] if missing else '?'}"


def _watched_inodes() -> set[int]:
    """Inode numbers of every directory this process's inotify instances watch (from fdinfo)."""
    inodes: set[int] = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            info = Path(f"/proc/self/fdinfo/{fd}").read_text()
        except OSError:
            continue
        for line in info.splitlines():
            if line.startswith("inotify wd:"):
                inodes.add(int(line.split(" ino:", 1)[1].split()[0], 16))
    return inodes


def unwatched_dirs(roots: list[tuple[Path, bool]]) -> list[str]:
    """Directories under ``roots`` that no inotify watch of this process covers (sorted)."""
    if not roots:
        return []
    watched = _watched_inodes()
    missing: list[str] = []
    for directory, recursive in roots:
        walk = os.walk(directory) if recursive else [(str(directory), [], [])]
        for top, _, _ in walk:
            try:
                if os.stat(top).st_ino not in watched:
                    missing.append(top)
            except OSError:
                continue  # removed meanwhile
    return sorted(missing)


def inotify_limit_error(exc: OSError, roots: list[tuple[Path, bool]]) -> Exception:
    """The error to show for an OSError from adding watches: which limit, and the sysctl to raise."""
    where = ", ".join(str(d) for d, _ in roots)
    if exc.errno == errno.ENOSPC:
        limit = _read("/proc/sys/fs/inotify/max_user_watches")
        return Unavailable(
            f"cannot watch {where}: the inotify watch limit is reached (fs.inotify.max_user_watches="
            f"{limit}; one watch per directory)", detail=exc.strerror if exc.strerror else None,
            hint="raise it: sysctl -w fs.inotify.max_user_watches=524288 (persist it in /etc/sysctl.d/), "
                 "or narrow the watch paths / add ignore rules")
    if exc.errno == errno.EMFILE:
        limit = _read("/proc/sys/fs/inotify/max_user_instances")
        return Unavailable(
            f"cannot watch {where}: too many inotify instances (fs.inotify.max_user_instances={limit})",
            hint="raise it: sysctl -w fs.inotify.max_user_instances=512")
    return Unavailable(f"cannot watch {where}: {exc.strerror or exc}")


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return "?"
