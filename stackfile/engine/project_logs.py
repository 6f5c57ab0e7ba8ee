"""``logs``: the lines of a project's containers, grouped per container or followed as they come."""

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
           since: str | None, until: str | None = None) -> Iterator[ContainerLine]:
    """One container's lines; those after ``until`` (RFC 3339 UTC, nanoseconds) end the stream."""
    service = status.labels.get(L.SERVICE, "")
    for line in ctx.runtime.logs(status.id, follow=follow, tail=tail, since=since):
        if until is not None and line.time > until:  # both RFC 3339 UTC with 9 fraction digits
            return
        yield ContainerLine(status.name, service, line.time, line.stream, line.text, ctx.name)


def follow_containers(ctx: ProjectContext, statuses: list[Any], *, tail: int | None = None,
                      since: str | None = None, until: str | None = None,
                      stop: threading.Event | None = None,
                      ended: Callable[[Any], None] | None = None) -> Iterator[ContainerLine]:
    """Interleave followed logs of several containers as lines arrive (one reader thread each).

    ``ended(status)`` is called, on the consuming thread and after that container's last line, when
    a container's log stream ends (it stopped, or ``stop`` was set)."""
    q: queue.Queue[ContainerLine | _Ended] = queue.Queue(maxsize=10000)

    def reader(status: Any) -> None:
        try:
            for line in _lines(ctx, status, True, tail, since, until):
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
    from stackfile.engine.log_time import rfc3339_ns

    return rfc3339_ns(ns)


def normalize_since(text: str | None, now: float | None = None) -> str | None:
    """``--since`` as RFC 3339: relative (``42m``, ``1h30m``), a Unix time, a date, or RFC 3339."""
    from stackfile.engine.log_time import parse_log_time

    return parse_log_time(text, "since", None if now is None else int(now * 1e9))


def logs(opts: Any, services: Iterable[str] = (), *, follow: bool = False, tail: int | None = None,
         since: str | None = None, until: str | None = None,
         sink: EventSink = discard) -> Iterator[ContainerLine]:
    """The services' log lines (``since``/``until``: Docker's time values). Without ``follow``
    grouped per container, each in its order, as Compose prints them."""
    from stackfile.engine.log_time import parse_log_time
    from stackfile.engine.project_ops import select

    since = parse_log_time(since, "since")
    until = parse_log_time(until, "until")
    ctx = open_project(opts, sink=sink, require_file=False)
    statuses = select(ctx, services, oneoff=True)
    if follow and (until is None or until > since_ns(time.time_ns())):
        yield from follow_containers(ctx, statuses, tail=tail, since=since, until=until)
        return
    for status in statuses:
        yield from _lines(ctx, status, False, tail, since, until)
