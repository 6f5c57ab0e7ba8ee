"""Small read-and-tidy use cases: the project's volumes (``volumes``), a container's published
ports (``container port``) and removing stopped containers (``container prune``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from stackfile.errors import InvalidSpec, Location, NotFound
from stackfile.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stackfile.store.paths import StorePaths

__all__ = ["PortMapping", "PruneResult", "container_ports", "project_volumes", "prune_containers"]


def project_volumes(opts: Any, services: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The project's volumes (those the containers of ``services`` mount, when given), as
    ``docker volume ls --format json`` rows, as Compose's ``volumes`` lists them."""
    from stackfile.engine.project_context import open_project
    from stackfile.engine.project_ops import select

    ctx = open_project(opts, require_file=False)
    records = ctx.volumes.list_volumes(ctx.name)
    if services:
        names = {s.name for s in select(ctx, services, oneoff=True)}
        records = [r for r in records if names & set(r.users)]
    return [{"Availability": "N/A", "Driver": r.driver, "Group": "N/A",
             "Labels": ",".join(f"{k}={v}" for k, v in sorted(r.labels.items())), "Links": "N/A",
             "Mountpoint": r.mountpoint, "Name": r.name, "Scope": "local", "Size": "N/A", "Status": "N/A"}
            for r in sorted(records, key=lambda r: r.name)]


class PortMapping(Record):
    """A published port: ``private``/``protocol`` in the container, ``host_ip:host_port`` outside."""

    private: int
    protocol: str
    host_ip: str
    host_port: int

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


def _parse_port(text: str) -> tuple[int, str]:
    port, _, proto = text.partition("/")
    if not port.isdigit() or not 0 < int(port) < 65536 or (proto or "tcp") not in ("tcp", "udp", "sctp"):
        raise InvalidSpec(f"invalid port {text!r}", location=Location(key_path="PRIVATE_PORT"),
                          hint="PORT or PORT/PROTO with PROTO tcp, udp or sctp (80, 53/udp)")
    return int(port), proto or "tcp"


def container_ports(paths: StorePaths, ref: str, private: str | None = None) -> list[PortMapping]:
    """What the container publishes (``PORT[/PROTO]`` only that port), sorted as Docker prints
    them. A port asked for that is not published is NotFound."""
    from stackfile.engine.containers import runtime
    from stackfile.network.manager import NetworkManager

    status = runtime(paths).inspect(ref)
    wanted = _parse_port(private) if private else None
    bound = []
    if paths.db.exists():
        try:
            bound = NetworkManager(paths).ports(status.name)
        except NotFound:  # no sandbox: a container on no network, or the host's
            bound = []
    out = sorted((PortMapping(p.container_port, p.protocol, p.host_ip or "0.0.0.0", p.host_port)
                  for p in bound if wanted is None or (p.container_port, p.protocol) == wanted),
                 key=lambda m: (m.private, m.protocol, ":" in m.host_ip, m.host_ip, m.host_port))
    if wanted is not None and not out:
        raise NotFound(f"no public port '{wanted[0]}/{wanted[1]}' published for {status.name}")
    return out


class PruneResult(Record):
    """The containers removed (ids) and the bytes their writable layers took."""

    deleted: tuple[str, ...]
    reclaimed: int

    def to_json(self) -> dict[str, Any]:
        return {"ContainersDeleted": list(self.deleted), "SpaceReclaimed": self.reclaimed}


def _prune_filters(filters: Mapping[str, Sequence[str]]) -> tuple[int | None, list[str], list[str]]:
    """(until ns, label filters, label! filters) of ``--filter until=|label=|label!=``."""
    from stackfile.engine.events import parse_time

    until = None
    for value in filters.get("until", ()):
        until = parse_time(value, "until")
    return until, list(filters.get("label", ())), list(filters.get("label!", ()))


def parse_prune_filters(items: Sequence[str]) -> dict[str, list[str]]:
    """``--filter`` flags of ``container prune``: ``until=``, ``label=`` and ``label!=``."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in ("until", "label", "label!"):
            raise InvalidSpec(f"invalid filter {item!r}", location=Location(key_path="--filter"),
                              hint="until=TIME, label=KEY[=VALUE] or label!=KEY[=VALUE]")
        out.setdefault(key, []).append(value)
    return out


def _has_label(labels: Mapping[str, str], wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in labels and (not sep or labels[key] == value)


def prune_containers(paths: StorePaths, filters: Mapping[str, Sequence[str]] | None = None) -> PruneResult:
    """Remove every stopped container (created, exited, dead) that the filters keep: created
    before ``until``, with every ``label`` and none of the ``label!``. A service container's
    network sandbox and volume references go with it, as with ``container rm``."""
    from stackfile.engine import container_lifecycle as life
    from stackfile.engine.containers import runtime
    from stackfile.runtime.api import ContainerState
    from stackfile.runtime.linux.state import to_ns
    from stackfile.store.layers import dir_size

    until, labels, not_labels = _prune_filters(filters or {})
    deleted, reclaimed = [], 0
    for status in runtime(paths).list(all=True):
        if status.state not in (ContainerState.EXITED, ContainerState.CREATED, ContainerState.DEAD):
            continue
        if until is not None and to_ns(status.created_at) > until:
            continue
        if not all(_has_label(status.labels, w) for w in labels) or any(
                _has_label(status.labels, w) for w in not_labels):
            continue
        size = dir_size(paths.container(status.id) / "upper")
        try:
            life.remove(paths, status.id)
        except NotFound:  # removed meanwhile
            continue
        deleted.append(status.id)
        reclaimed += size
    return PruneResult(tuple(deleted), reclaimed)
