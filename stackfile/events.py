"""Typed events the engine emits; the CLI and the daemon render them (the engine never prints)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Event", "EventSink", "discard"]


@dataclass(frozen=True)
class Event:
    """Base of all events. ``kind`` names the event for JSON output (``build.step``, ``container.start``)."""

    kind: str
    message: str = ""


EventSink = Callable[[Event], None]


def discard(event: Event) -> None:
    """The sink that ignores everything."""

