"""What is actually there: the project's containers, networks, volumes and images.

Plain dataclasses so planner tests build them by hand. :func:`container_from_status` turns a
runtime :class:`~stackfile.runtime.api.ContainerStatus` (plus the health the monitor recorded)
into an :class:`ObservedContainer`; the engine does the reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from stackfile.reconcile import labels as L

__all__ = ["ObservedContainer", "ObservedState", "container_from_status"]


class ObservedContainer(NamedTuple):
    """One container of the project as the runtime reports it."""

    id: str
    name: str
    service: str
    number: int
    state: str  # created | running | paused | restarting | exited | dead
    labels: Mapping[str, str] = MappingProxyType({})
    health: str = ""  # "" (no healthcheck) | starting | healthy | unhealthy
    exit_code: int | None = None
    oneoff: bool = False

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting", "paused")


@dataclass
class ObservedState:
    """Everything of one project that exists now. Names are full names (``demo_default``)."""

    project: str
    containers: list[ObservedContainer] = field(default_factory=list)
    networks: dict[str, Mapping[str, str]] = field(default_factory=dict)  # name -> labels
    volumes: dict[str, Mapping[str, str]] = field(default_factory=dict)  # name -> labels
    images: dict[str, str] = field(default_factory=dict)  # reference -> image id

    def service_containers(self, service: str) -> list[ObservedContainer]:
        """The service's non-one-off containers, by number then name."""
        found = [c for c in self.containers if c.service == service and not c.oneoff]
        return sorted(found, key=lambda c: (c.number, c.name))


def container_from_status(status: Any, health: str = "") -> ObservedContainer:
    """Build an :class:`ObservedContainer` from a runtime ``ContainerStatus``."""
    labels = dict(status.labels)
    try:
        number = int(labels.get(L.NUMBER, "0"))
    except ValueError:
        number = 0
    state = getattr(status.state, "value", status.state)
    return ObservedContainer(
        id=status.id,
        name=status.name,
        service=labels.get(L.SERVICE, ""),
        number=number,
        state=str(state),
        labels=labels,
        health=health,
        exit_code=status.exit_code,
        oneoff=labels.get(L.ONEOFF, "False") == "True",
    )
