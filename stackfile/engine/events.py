"""``events``: the store's event journal (:mod:`stackfile.store.journal`) as typed events, filtered
as Docker's ``--filter`` does, over a time window or followed live.

Docker's rules: without ``--since``/``--until`` only new events are shown, as they happen; with
``--since`` the past ones from then, then live; with ``--until`` the stream ends at that time.
Filters of one key are alternatives (``type=container --filter type=network``), different keys must
all match.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from stackfile.errors import InvalidSpec, Location
from stackfile.reconcile import labels as L
from stackfile.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["FILTERS", "EngineEvent", "events", "parse_filters", "parse_time"]

FILTERS = ("container", "event", "image", "label", "network", "scope", "service", "project", "type",
           "volume")
_TYPES = ("container", "image", "network", "volume", "watch")


class EngineEvent(Record):
    """One recorded event: what (``type``, ``action``), of which object (``id`` and its
    ``attributes``, a container's labels included), when (ns since the epoch)."""

    type: str
    action: str
    id: str
    attributes: Mapping[str, str]
    time_ns: int
    scope: str = "local"

    @classmethod
    def from_journal(cls, message: Mapping[str, Any]) -> EngineEvent:
        actor = message.get("Actor") or {}
        return cls(str(message.get("Type", "")), str(message.get("Action", "")), str(actor.get("ID", "")),
                   dict(actor.get("Attributes") or {}), int(message.get("timeNano", 0)),
                   str(message.get("scope", "local")))

    def to_docker(self) -> dict[str, Any]:
        """Docker's event message (``docker events --format json``)."""
        out: dict[str, Any] = {"Type": self.type, "Action": self.action,
                               "Actor": {"ID": self.id, "Attributes": dict(self.attributes)},
                               "scope": self.scope, "time": self.time_ns // 10**9, "timeNano": self.time_ns}
        if self.type == "container":
            out.update(status=self.action, id=self.id)
            if "image" in self.attributes:
                out["from"] = self.attributes["image"]
        return out

    def to_json(self) -> dict[str, Any]:
        return self.to_docker()


def parse_filters(items: Sequence[str]) -> dict[str, list[str]]:
    """``--filter key=value`` flags by key; an unknown key or a missing ``=`` is an error."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in FILTERS:
            raise InvalidSpec(f"invalid filter {item!r}", location=Location(key_path="--filter"),
                              hint="KEY=VALUE with KEY one of " + ", ".join(FILTERS))
        if key == "type" and value not in _TYPES:
            raise InvalidSpec(f"invalid filter {item!r}: unknown event type",
                              location=Location(key_path="--filter"),
                              hint="type= one of " + ", ".join(_TYPES))
        out.setdefault(key, []).append(value)
    return out


def parse_time(value: str | None, flag: str) -> int | None:
    """``--since``/``--until`` as Docker reads them (a duration back from now, RFC 3339, a date, a
    Unix timestamp) in ns since the epoch."""
    if not value:
        return None
    from stackfile.engine.log_time import parse_log_time
    from stackfile.runtime.linux.state import to_ns

    stamp = parse_log_time(value, flag)
    return to_ns(stamp) if stamp else None


def _label_match(attributes: Mapping[str, str], wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in attributes and (not sep or attributes[key] == value)


def matches(event: EngineEvent, filters: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``event`` passes every filter key (any of its values)."""
    a = event.attributes
    checks: dict[str, Callable[[str], bool]] = {
        "type": lambda v: event.type == v,
        "event": lambda v: event.action == v or event.action.split(":")[0] == v,
        "container": lambda v: (event.type == "container" and (event.id.startswith(v) or a.get("name") == v))
        or a.get("container") == v,
        "image": lambda v: a.get("image") == v or (event.type == "image" and (event.id.startswith(v)
                                                                            or a.get("name") == v)),
        "label": lambda v: _label_match(a, v),
        "network": lambda v: event.type == "network" and (event.id.startswith(v) or a.get("name") == v),
        "volume": lambda v: event.type == "volume" and (event.id == v or a.get("name") == v),
        "scope": lambda v: event.scope == v,
        "project": lambda v: a.get(L.PROJECT) == v or a.get("project") == v,
        "service": lambda v: a.get(L.SERVICE) == v or a.get("service") == v,
    }
    return all(any(checks[key](v) for v in values) for key, values in filters.items())


def events(root: str, *, since_ns: int | None = None, until_ns: int | None = None,
           filters: Mapping[str, Sequence[str]] | None = None, follow: bool | None = None,
           stopped: Callable[[], bool] = lambda: False) -> Iterator[EngineEvent]:
    """The events of the store at ``root`` that pass ``filters``: from ``since_ns`` (default: now,
    i.e. only new ones) to ``until_ns``; ``follow`` defaults to "no ``until_ns`` given"."""
    from stackfile.store import journal

    if since_ns is None and until_ns is None:
        since_ns = time.time_ns()
    live = until_ns is None if follow is None else follow
    for message in journal.read(root, since_ns=since_ns, until_ns=until_ns, follow=live, stopped=stopped):
        event = EngineEvent.from_journal(message)
        if not filters or matches(event, filters):
            yield event
