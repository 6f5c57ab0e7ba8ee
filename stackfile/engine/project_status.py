"""``ps``: one entry per container with Compose's JSON fields (ID, Name, Service, State, Health...)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from stackfile.engine.project_context import ProjectContext, open_project
from stackfile.errors import StackfileError
from stackfile.events import EventSink, discard
from stackfile.reconcile import labels as L
from stackfile.store.paths import StorePaths

__all__ = ["docker_command", "ellipsis", "human_duration", "ps", "ps_entry", "ps_report", "watcher_entry"]


def _epoch(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """Docker's rounding: "Less than a second", "5 seconds", "About a minute", "3 minutes", "2 hours"..."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s < 60:
        return "1 second" if s == 1 else f"{s} seconds"
    minutes = s // 60
    if minutes < 60:
        return "About a minute" if minutes == 1 else f"{minutes} minutes"
    hours = minutes // 60
    if hours < 48:
        return "About an hour" if hours == 1 else f"{hours} hours"
    return f"{hours // 24} days"


def ellipsis(text: str, width: int) -> str:
    """Docker's ``Ellipsis``: ``text`` cut to ``width`` characters, the last one an ellipsis."""
    return text if len(text) <= width else text[:width - 1] + "…"


def docker_command(argv: Iterable[str]) -> str:
    """The command as Docker lists it: arguments with a space in single quotes
    (``sh -c 'echo hi; sleep 1'``)."""
    path, *args = list(argv) or [""]
    return " ".join([path, *(f"'{a}'" if " " in a else a for a in args)])


def _mounts(ctx: ProjectContext, status: Any) -> list[Any]:
    try:
        spec = ctx.runtime.spec_of(status.id)
    except (StackfileError, KeyError, OSError):
        return []
    return sorted((m for m in spec.mounts if m.type in ("bind", "volume")), key=lambda m: m.target)


def _mount_fields(ctx: ProjectContext, status: Any) -> dict[str, str]:
    """Compose's ``Mounts`` (volume names, bind sources, each cut to 15) and ``LocalVolumes``."""
    import os

    mounts = _mounts(ctx, status)
    names = [os.path.basename(os.path.dirname(m.source)) if m.type == "volume" else m.source for m in mounts]
    return {"Mounts": ",".join(ellipsis(n, 15) for n in names),
            "LocalVolumes": str(sum(1 for m in mounts if m.type == "volume"))}


def _networks(ctx: ProjectContext, status: Any) -> str:
    """The networks the container is attached to, sorted and comma-joined (Docker's ``Networks``)."""
    try:
        return ",".join(sorted({e.network for e in ctx.networks.sandbox(status.name).endpoints}))
    except (StackfileError, ImportError):
        pass
    try:
        mode = ctx.runtime.spec_of(status.id).network.mode
    except (StackfileError, KeyError, OSError):
        return ""
    return mode if mode in ("host", "none") else ""


def _status_text(status: Any, health: str, now: float) -> str:
    state = status.state.value
    if state in ("running", "paused", "restarting"):
        started = _epoch(status.started_at) or now
        text = f"Up {human_duration(now - started)}"
        if health:  # Docker: "Up 3 seconds (healthy)", "Up 1 second (health: starting)"
            text += f" (health: {health})" if health == "starting" else f" ({health})"
        if state == "paused":
            text += " (Paused)"
        return text if state != "restarting" else f"Restarting ({status.exit_code or 0})"
    if state == "exited":
        finished = _epoch(status.finished_at) or now
        return f"Exited ({status.exit_code}) {human_duration(now - finished)} ago"
    return state.capitalize()


def _publishers(ctx: ProjectContext, name: str) -> list[dict[str, Any]]:
    try:
        bound = ctx.networks.ports(name)
    except (StackfileError, ImportError):
        return []
    return [{"URL": b.host_ip or "0.0.0.0", "TargetPort": b.container_port, "PublishedPort": b.host_port,
             "Protocol": b.protocol} for b in sorted(bound, key=lambda b: (b.container_port, b.protocol))]


def ps_entry(ctx: ProjectContext, status: Any, now: float | None = None) -> dict[str, Any]:
    """Compose's ``ps --format json`` object for one container."""
    now = time.time() if now is None else now
    health = ctx.health(status.id) if status.state.value in ("running", "paused") else ""
    publishers = _publishers(ctx, status.name) if status.state.value != "exited" else []
    ports = ", ".join(f"{p['URL']}:{p['PublishedPort']}->{p['TargetPort']}/{p['Protocol']}"
                      for p in publishers)
    return {
        "ID": status.id[:12], "Name": status.name, "Names": status.name, "Image": status.image,
        "Command": docker_command(status.command), "Project": ctx.name,
        "Service": status.labels.get(L.SERVICE, ""), "CreatedAt": status.created_at,
        "RunningFor": f"{human_duration(max(now - (_epoch(status.created_at) or now), 0.0))} ago",
        "Networks": _networks(ctx, status), **_mount_fields(ctx, status), "Size": "0B",
        "State": status.state.value, "Status": _status_text(status, health, now), "Health": health,
        "ExitCode": status.exit_code or 0, "Publishers": publishers, "Ports": ports,
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(status.labels.items())),
    }


def watcher_entry(paths: StorePaths, project: str, now: float | None = None) -> dict[str, Any] | None:
    """The project's live file watcher (``watch``/``up --watch``) as a JSON object, or None."""
    from stackfile.watch.state import watch_status

    state = watch_status(paths, project)
    if state is None:
        return None
    now = time.time() if now is None else now
    try:
        started = datetime.fromisoformat(state.started_at).timestamp()
    except ValueError:
        started = now
    return {"Pid": state.pid, "Since": state.started_at, "Services": list(state.services),
            "Detached": state.detached, "Log": state.log,
            "Status": f"Up {human_duration(max(now - started, 0.0))}"}


def ps_report(opts: Any, services: Iterable[str] = (), *, all: bool = False, sink: EventSink = discard,
              status_filter: str | Iterable[str] = "") -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The project's containers (running ones unless ``all``, sorted by name) and its watcher.

    ``status_filter``: keep only rows in this state (or these states). Each row's ``Watch`` is
    the watcher when it watches that row's service, else None.
    """
    states = {status_filter} if isinstance(status_filter, str) else set(status_filter)
    states.discard("")
    from stackfile.engine.project_ops import select

    ctx = open_project(opts, sink=sink, require_file=False)
    now = time.time()
    watcher = watcher_entry(ctx.paths, ctx.name, now)
    watched = set(watcher["Services"]) if watcher else set()
    rows = []
    for status in select(ctx, services, all=all, oneoff=True):
        with contextlib.suppress(StackfileError):
            row = ps_entry(ctx, status, now)
            row["Watch"] = watcher if row["Service"] in watched else None
            if not states or row["State"] in states:
                rows.append(row)
    return rows, watcher


def ps(opts: Any, services: Iterable[str] = (), *, all: bool = False, sink: EventSink = discard,
       status_filter: str | Iterable[str] = "") -> list[dict[str, Any]]:
    """The project's containers (running ones unless ``all``), sorted by name."""
    return ps_report(opts, services, all=all, sink=sink, status_filter=status_filter)[0]
