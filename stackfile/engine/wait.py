"""``wait``: block until containers stop, reporting each one's exit code as it stops.

``container wait`` waits for each container in turn (Docker prints the codes in the order given);
the project's ``wait`` waits for all of its services' containers at once, as Compose does, and
with ``down_project`` takes the project down once the first one has stopped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from stackfile.errors import NotFound
from stackfile.record import Record
from stackfile.runtime.api import ContainerState

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stackfile.runtime.api import Runtime

__all__ = ["ContainerExit", "project_wait", "wait_all"]

_STOPPED = (ContainerState.EXITED, ContainerState.DEAD, ContainerState.CREATED)


class ContainerExit(Record):
    """A container that stopped, and its exit code (-1 when it was removed before it was seen)."""

    id: str
    name: str
    exit_code: int

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


def wait_all(rt: Runtime, refs: Sequence[str], *, poll: float = 0.05) -> Iterator[ContainerExit]:
    """Each of the containers ``refs`` as it stops (a restart by its policy is no stop), in the
    order they stop. An unknown ref is an error before anything is waited for."""
    pending = {s.id: s.name for s in (rt.inspect(ref) for ref in refs)}
    delay = 0.005
    while pending:
        for cid, name in list(pending.items()):
            try:
                status = rt.inspect(cid)
            except NotFound:
                del pending[cid]
                yield ContainerExit(cid, name, -1)
                continue
            if status.state in _STOPPED:
                del pending[cid]
                yield ContainerExit(cid, name, status.exit_code if status.exit_code is not None else -1)
        if pending:
            time.sleep(delay)
            delay = min(poll, delay * 2)


def project_wait(opts: Any, services: Sequence[str] = (), *,
                 down_project: bool = False) -> Iterator[ContainerExit]:
    """The project's containers of ``services`` (one-offs included) as they stop; with
    ``down_project`` the project is taken down after the first one (Compose's ``--down-project``)."""
    from stackfile.engine.project_context import open_project
    from stackfile.engine.project_ops import select

    ctx = open_project(opts, require_file=False)
    containers = select(ctx, services, oneoff=True)
    if not containers:
        raise NotFound(f"no containers for project {ctx.name!r}" + (f" and services {', '.join(services)}"
                                                                       if services else ""))
    for exited in wait_all(ctx.runtime, [s.id for s in containers]):
        yield exited
        if down_project:
            from stackfile.engine.project import down

            down(opts)
            return
