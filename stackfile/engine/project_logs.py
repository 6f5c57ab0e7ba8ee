"""``logs``: the lines of a project's containers, merged by time, optionally followed."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from stackfile.engine.project_context import ProjectContext, open_project
from stackfile.events import EventSink, discard
from stackfile.reconcile import labels as L

__all__ = ["ContainerLine", "follow_containers", "logs", "normalize_since", "run_lines", "since_ns"]

DRAIN = 0.5  # seconds to keep reading after a stop request


class ContainerLine(NamedTuple):
    """One log line of one container (``service`` for colouring and prefixes)."""

    container: str
    service: str
    time: str
    stream: str
    text: str
    project: str = ""

    @property
    def short_name(self) -> str:
        """``web-1`` for ``demo-web-1`` (Compose's log prefix)."""
        prefix = f"{self.project}-"
        return self.container[len(prefix):] if self.project and self.container.startswith(prefix) \
            else self.container


def _lines(ctx: ProjectContext, status: Any, follow: bool, tail: int | None,
           since: str | None) -> Iterator[ContainerLine]:
    service = status.labels.get(L.SERVICE, "")
    for line in ctx.runtime.logs(status.id, follow=follow, tail=tail, since=since):
        yield ContainerLine(status.name, service, line.time, line.stream, line.text, ctx.name)


def follow_containers(ctx: ProjectContext, statuses: list[Any], *, tail: int | None = None,
                      since: str | None = None,
                      stop: threading.Event | None = None,
                      ended: Callable[[Any], None] | None = None) -> Iterator[ContainerLine]:
    """Interleave followed logs of several containers as lines arrive (one reader thread each).

    ``ended(status)`` is called, on the consuming thread and after that container's last line, when
    a container's log stream ends (it stopped, or ``stop`` was set)."""
    q: queue.Queue[ContainerLine | _Ended] = queue.Queue(maxsize=10000)

    def reader(status: Any) -> None:
        try:
            for line in _lines(ctx, status, True, tail, since):
                q.put(line)
                if stop is not None and stop.is_set():
                    break
        finally:
            q.put(_Ended(status))

    for status in statuses:
        threading.Thread(target=reader, args=(status,), daemon=True).start()
    open_readers = len(statuses)
    drain_until = 0.0
    while open_readers:
        if stop is not None and stop.is_set() and not drain_until:
            drain_until = time.monotonic() + DRAIN  # the last lines of a container that just exited
        try:
            item = q.get(timeout=0.05)
        except queue.Empty:
            if drain_until and time.monotonic() > drain_until:
                return
            continue
        if isinstance(item, _Ended):
            open_readers -= 1
            if ended is not None:
                ended(item.status)
        else:
            yield item


def run_lines(ctx: ProjectContext, statuses: list[Any], *, since: str | None = None) -> list[ContainerLine]:
    """The lines the containers have logged (from ``since``), merged by time."""
    lines = [line for s in statuses for line in _lines(ctx, s, False, None, since)]
    return sorted(lines, key=lambda line: line.time)


class _Ended(NamedTuple):
    """The end of one container's followed stream."""

    status: Any


def since_ns(ns: int) -> str:
    """A ``since`` (RFC 3339, nanoseconds) for the instant ``ns`` (``time.time_ns()``)."""
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"


def normalize_since(text: str | None, now: float | None = None) -> str | None:
    """``--since`` as RFC 3339: relative (``42m``, ``1h30m``), a Unix time, a date, or RFC 3339."""
    import time

    from stackfile.errors import InvalidSpec
    from stackfile.spec.units import parse_duration

    if not text:
        return None
    now = time.time() if now is None else now
    value = text.strip()
    try:
        if value.replace(".", "", 1).isdigit():
            stamp = float(value)
        elif value[0].isdigit() and value[-1].isalpha() and "-" not in value:
            stamp = now - parse_duration(value) / 1e9
        else:
            return value if "T" in value else value + "T00:00:00Z"
    except ValueError:
        raise InvalidSpec(f"invalid --since value {text!r}",
                          hint="a duration (42m, 1h30m), a Unix time, or 2026-01-02T15:04:05Z") from None
    whole = int(stamp)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((stamp - whole) * 1e9):09d}Z"


def logs(opts: Any, services: Iterable[str] = (), *, follow: bool = False, tail: int | None = None,
         since: str | None = None, sink: EventSink = discard) -> Iterator[ContainerLine]:
    """The services' log lines; without ``follow`` all of them sorted by time."""
    from stackfile.engine.project_ops import select

    ctx = open_project(opts, sink=sink, require_file=False)
    statuses = select(ctx, services, oneoff=True)
    since = normalize_since(since)
    if follow:
        yield from follow_containers(ctx, statuses, tail=tail, since=since)
        return
    lines = [line for s in statuses for line in _lines(ctx, s, False, tail, since)]
    yield from sorted(lines, key=lambda line: line.time)
