"""The state file of a project's running watcher (``<store>/projects/<name>/watch.json``).

``ps`` shows it, ``down`` and ``watch --stop`` end it. A pid alone could be reused by another
process after the watcher died, so the file also records the process's start time from
``/proc/<pid>/stat``; a watcher whose pid no longer matches is treated as gone.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from stackfile.store.paths import StorePaths

__all__ = ["WatchState", "clear_state", "record_state", "state_file", "stop_watch", "watch_status"]


@dataclass(frozen=True)
class WatchState:
    """One running watcher."""

    pid: int
    started_at: str  # RFC 3339, UTC
    proc_start: int  # start time of pid in clock ticks since boot (field 22 of /proc/<pid>/stat)
    services: tuple[str, ...]
    detached: bool
    log: str = ""


def state_file(paths: StorePaths, project: str) -> Path:
    return paths.project(project) / "watch.json"


def _proc_start(pid: int) -> int | None:
    """The start time of a live ``pid``; None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else int(fields[19])


def record_state(paths: StorePaths, project: str, services: tuple[str, ...], *, detached: bool,
                 log: str = "") -> WatchState:
    """Write this process's watcher record (atomically)."""
    pid = os.getpid()
    state = WatchState(pid, datetime.now(UTC).isoformat(timespec="seconds"), _proc_start(pid) or 0,
                       tuple(services), detached, log)
    path = state_file(paths, project)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".watch.json.{pid}")
    tmp.write_text(json.dumps(asdict(state), sort_keys=True))
    os.replace(tmp, path)
    return state


def clear_state(paths: StorePaths, project: str, pid: int) -> None:
    """Remove the record if it is ``pid``'s."""
    current = _read(state_file(paths, project))
    if current is not None and current.pid == pid:
        state_file(paths, project).unlink(missing_ok=True)


def watch_status(paths: StorePaths, project: str) -> WatchState | None:
    """The project's live watcher, or None (a stale record is removed)."""
    path = state_file(paths, project)
    state = _read(path)
    if state is None:
        return None
    if _proc_start(state.pid) != state.proc_start:
        path.unlink(missing_ok=True)
        return None
    return state


def stop_watch(paths: StorePaths, project: str, timeout: float = 10.0) -> bool:
    """SIGTERM the project's watcher, SIGKILL after ``timeout``; False when none was running."""
    state = watch_status(paths, project)
    if state is None:
        return False
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        os.kill(state.pid, sig)
        deadline = time.monotonic() + wait
        while _proc_start(state.pid) == state.proc_start and time.monotonic() < deadline:
            time.sleep(0.01)
        if _proc_start(state.pid) != state.proc_start:
            break
    state_file(paths, project).unlink(missing_ok=True)
    return True


def _read(path: Path) -> WatchState | None:
    try:
        data = json.loads(path.read_text())
        return WatchState(int(data["pid"]), str(data["started_at"]), int(data["proc_start"]),
                          tuple(data.get("services") or ()), bool(data.get("detached")),
                          str(data.get("log", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
