"""``stats``: what running containers use (CPU %, memory, network and block I/O, tasks), sampled
through the runtime (:meth:`Runtime.usage`), once or as a live series.

Results are typed records of numbers (bytes, percentages) that serialise to JSON; the CLI turns
them into Docker's strings (``1.5MiB / 7.7GiB``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from stackfile.errors import Conflict, NotFound
from stackfile.record import Record
from stackfile.runtime.api import ContainerState, ContainerStatus, Usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stackfile.runtime.api import Runtime

__all__ = ["ContainerStats", "containers_of", "cpu_percent", "project_stats", "stats"]

_LIVE = (ContainerState.RUNNING, ContainerState.PAUSED)


class ContainerStats(Record):
    """One container's figures over the last sampling interval (all zero when it is not running)."""

    id: str
    name: str
    cpu_percent: float = 0.0
    memory: int = 0
    memory_limit: int = 0
    memory_percent: float = 0.0
    net_rx: int = 0
    net_tx: int = 0
    block_read: int = 0
    block_write: int = 0
    pids: int = 0

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


def _sample(rt: Runtime, status: ContainerStatus) -> Usage | None:
    if status.state not in _LIVE:
        return None
    try:
        return rt.usage(status.id)
    except (Conflict, NotFound):  # it stopped or went away between the listing and the sample
        return None


def cpu_percent(before: Usage, after: Usage) -> float:
    """Docker's CPU %: the container's share of the host's CPU time between two samples, times
    the number of CPUs (one busy core on any host is 100 %)."""
    cpu = after.cpu_ns - before.cpu_ns
    system = after.system_ns - before.system_ns
    if cpu <= 0 or system <= 0:
        return 0.0
    return cpu / system * after.online_cpus * 100.0


def _figures(status: ContainerStatus, before: Usage | None, after: Usage | None) -> ContainerStats:
    if after is None:
        return ContainerStats(status.id, status.name)
    return ContainerStats(
        status.id, status.name, cpu_percent=cpu_percent(before, after) if before is not None else 0.0,
        memory=after.memory, memory_limit=after.memory_limit,
        memory_percent=after.memory / after.memory_limit * 100.0 if after.memory_limit else 0.0,
        net_rx=after.net_rx, net_tx=after.net_tx, block_read=after.block_read, block_write=after.block_write,
        pids=after.pids)


def stats(rt: Runtime, select: Callable[[], list[ContainerStatus]], *, interval: float = 1.0,
          stream: bool = True, stopped: Callable[[], bool] = lambda: False) -> Iterator[list[ContainerStats]]:
    """Figures of the containers ``select()`` returns, every ``interval`` seconds (the CPU % is over
    the interval); one list only unless ``stream``. ``select`` runs before each sample, so
    containers started meanwhile join the series and removed ones leave it."""
    previous = {s.id: _sample(rt, s) for s in select()}
    while True:
        time.sleep(interval)
        if stopped():
            return
        statuses = select()
        current = {s.id: _sample(rt, s) for s in statuses}
        yield [_figures(s, previous.get(s.id), current[s.id]) for s in statuses]
        if not stream:
            return
        previous = current


def containers_of(rt: Runtime, refs: Sequence[str], *,
                  all: bool = False) -> Callable[[], list[ContainerStatus]]:
    """``select`` for :func:`stats`: the named containers (an unknown one is an error at once), or
    every running one (every one with ``all``)."""
    if refs:
        ids = [rt.inspect(ref).id for ref in refs]

        def named() -> list[ContainerStatus]:
            out = []
            for cid in ids:
                try:
                    out.append(rt.inspect(cid))
                except NotFound:
                    continue
            return out
        return named
    return lambda: rt.list(all=all)


def project_stats(opts: Any, services: Sequence[str] = (), *, all: bool = False, interval: float = 1.0,
                  stream: bool = True, stopped: Callable[[], bool] = lambda: False
                  ) -> Iterator[list[ContainerStats]]:
    """:func:`stats` over the project's containers of ``services`` (all services when empty)."""
    from stackfile.engine.project_context import open_project
    from stackfile.engine.project_ops import select

    ctx = open_project(opts, require_file=False)
    select(ctx, services)  # an unknown service is an error before the first interval
    return stats(ctx.runtime, lambda: select(ctx, services, all=all), interval=interval, stream=stream,
                 stopped=stopped)
