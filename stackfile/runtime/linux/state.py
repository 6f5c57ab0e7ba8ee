"""On-disk records of one container: ``config.json`` (what to run) and ``state.json`` (what happened).

``containers/<id>/``::

    config.json     id, name, image, created_at, hostname, spec  (written once by create)
    state.json      status, pid, supervisor, exit code, OOM, times, restart count, error
                    (written atomically, only by the container's supervisor; until its first
                    start there is none, which reads as a fresh ``created`` State)
    stop-requested  marker: a stop was asked for, so the supervisor must not restart it
    log.json        JSON lines {"time", "stream", "log"}
    upper/ work/ rootfs/  overlay dirs (the mounts themselves live in the container's namespace)
    hosts hostname resolv.conf  bind-mounted over the container's /etc files

Names live in ``containers/.names/<name>`` (a symlink to the id), created atomically.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import (see stackfile/record.py)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ContainerDir", "State", "now_rfc3339", "peer_pid_lookup", "proc_start_time", "process_alive",
           "to_ns"]


def now_rfc3339() -> str:
    """The current time, RFC 3339 with nanoseconds, UTC (``2026-11-28T10:05:00.123456789Z``)."""
    ns = time.time_ns()
    seconds, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}Z"


def to_ns(stamp: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 UTC time (``...Z``, up to 9 fraction digits)."""
    base, _, frac = stamp.rstrip("Z").partition(".")
    seconds = time.mktime(time.strptime(base[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return int(seconds) * 1_000_000_000 + int((frac + "000000000")[:9])


def proc_start_time(pid: int) -> int:
    """The kernel start time of ``pid`` (clock ticks since boot), 0 if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return 0
    fields = stat[stat.rfind(b")") + 2:].split()
    return int(fields[19]) if fields[0] != b"Z" else 0


def process_alive(pid: int | None, start_time: int | None) -> bool:
    """True if ``pid`` still runs and is the same process (same start time, not a zombie)."""
    if not pid:
        return False
    start = proc_start_time(pid)
    return start != 0 and start == start_time


class State:
    """The mutable part of a container's record (a plain class: a dataclass would import
    :mod:`dataclasses` and :mod:`inspect` on the ``container run`` path)."""

    __slots__ = ("error", "exit_code", "finished_at", "oom_killed", "pid", "pid_start", "restart_count",
                 "started_at", "status", "supervisor", "supervisor_start")

    def __init__(self, status: str = "created", pid: int | None = None, pid_start: int | None = None,
                 supervisor: int | None = None, supervisor_start: int | None = None,
                 exit_code: int | None = None, oom_killed: bool = False, started_at: str | None = None,
                 finished_at: str | None = None, restart_count: int = 0, error: str = "") -> None:
        self.status = status
        self.pid = pid
        self.pid_start = pid_start
        self.supervisor = supervisor
        self.supervisor_start = supervisor_start
        self.exit_code = exit_code
        self.oom_killed = oom_killed
        self.started_at = started_at
        self.finished_at = finished_at
        self.restart_count = restart_count
        self.error = error

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, as ``state.json`` stores them."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, State) and self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        return f"State({', '.join(f'{k}={v!r}' for k, v in self.as_dict().items())})"


def _atomic_write(path: str, data: dict[str, Any]) -> None:
    """Write-then-rename, mode 0600 (the config holds the environment, which may hold secrets)."""
    head, name = os.path.split(path)
    tmp = os.path.join(head, f".{name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, sort_keys=True)
    os.replace(tmp, path)


def touch(path: str, mode: int = 0o666) -> None:
    """``Path(path).touch(mode)`` without pathlib: update the times of an existing file, else
    create it."""
    try:
        os.utime(path, None)
    except OSError:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, mode))


class ContainerDir:
    """The files of one container under the store root (str paths: no pathlib on ``container run``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path).rstrip("/") or "/"
        self.id = os.path.basename(self.path)

    def sub(self, name: str) -> str:
        return os.path.join(self.path, name)

    def exists(self) -> bool:
        return os.path.exists(self.sub("config.json"))

    def write_config(self, config: dict[str, Any]) -> None:
        _atomic_write(self.sub("config.json"), config)

    def config(self) -> dict[str, Any]:
        with open(self.sub("config.json")) as fh:
            data: dict[str, Any] = json.load(fh)
        return data

    def write_state(self, state: State) -> None:
        _atomic_write(self.sub("state.json"), state.as_dict())

    def state(self) -> State:
        try:
            with open(self.sub("state.json")) as fh:
                return State(**json.load(fh))
        except FileNotFoundError:
            return State()

    def stop_requested(self) -> bool:
        return os.path.exists(self.sub("stop-requested"))

    def request_stop(self) -> None:
        touch(self.sub("stop-requested"))

    def clear_stop(self) -> None:
        try:
            os.unlink(self.sub("stop-requested"))
        except FileNotFoundError:
            pass


def peer_pid_lookup(cdir: ContainerDir) -> Callable[[str], int | None]:
    """For ``network_mode: container:<id>``: the live PID 1 of a sibling container, or None."""

    def lookup(ref: str) -> int | None:
        other = ContainerDir(os.path.join(os.path.dirname(cdir.path), ref)).state()
        return other.pid if process_alive(other.pid, other.pid_start) else None

    return lookup
