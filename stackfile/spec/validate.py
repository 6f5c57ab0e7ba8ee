"""Semantic checks of the canonical project: references, cycles, exclusive and conflicting keys.

Each check is a small function over the canonical dict raising ``InvalidSpec`` that names the
key path, the object and what would be valid. Checks run in a fixed order so the first error
reported is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stackfile.errors import InvalidSpec, Location
from stackfile.graph import Graph

__all__ = ["CHECKS", "validate_project"]

Check = Callable[[dict[str, Any]], None]


def _fail(key_path: str, message: str, hint: str | None = None) -> InvalidSpec:
    return InvalidSpec(message, location=Location(key_path=key_path), hint=hint)


def _services(config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return sorted((config.get("services") or {}).items())


def check_external(kind: str, name: str, resource: dict[str, Any]) -> None:
    """An external resource is created elsewhere: it cannot also say how to create it."""
    if not resource.get("external"):
        return
    for key in ("driver", "driver_opts", "labels", "ipam"):
        if resource.get(key):
            raise _fail(
                f"{kind}.{name}",
                f'{kind}.{name}: conflicting parameters "external" and "{key}" specified',
                hint=f"an external {kind[:-1]} is created elsewhere; remove {key}",
            )


def check_network_mode(config: dict[str, Any]) -> None:
    for name, svc in _services(config):
        if svc.get("network_mode") and svc.get("networks"):
            raise _fail(
                f"services.{name}",
                f"service {name} declares mutually exclusive `network_mode` and `networks`",
                hint="keep only one of network_mode and networks",
            )


def check_references(config: dict[str, Any]) -> None:
    declared = {k: set(config.get(k) or {}) for k in ("networks", "volumes", "secrets", "configs")}
    for name, svc in _services(config):
        for net in sorted(svc.get("networks") or {}):
            if net not in declared["networks"]:
                raise _fail(
                    f"services.{name}.networks.{net}",
                    f"service {name!r} refers to undefined network {net}",
                    hint=_valid("networks", declared["networks"]),
                )
        for mount in svc.get("volumes") or []:
            source = mount.get("source")
            if mount.get("type") == "volume" and source and source not in declared["volumes"]:
                raise _fail(
                    f"services.{name}.volumes",
                    f"service {name!r} refers to undefined volume {source}",
                    hint=_valid("volumes", declared["volumes"]),
                )
        for kind in ("secrets", "configs"):
            for ref in svc.get(kind) or []:
                if ref.get("source") not in declared[kind]:
                    raise _fail(
                        f"services.{name}.{kind}",
                        f"service {name!r} refers to undefined {kind[:-1]} {ref.get('source')}",
                        hint=_valid(kind, declared[kind]),
                    )


def _valid(kind: str, names: set[str]) -> str:
    return f"declare it under top-level {kind}: (defined: {', '.join(sorted(names)) or 'none'})"


def check_depends_on(config: dict[str, Any]) -> None:
    services = config.get("services") or {}
    graph: Graph[str] = Graph()
    for name, svc in _services(config):
        graph.add_node(name)
        for dep, cond in sorted((svc.get("depends_on") or {}).items()):
            if dep in services:
                graph.add_edge(name, dep)
            elif cond.get("required", True):
                raise _fail(
                    f"services.{name}.depends_on",
                    f"service {name!r} depends on undefined service {dep!r}",
                    hint="valid services: " + ", ".join(sorted(services)),
                )
    cycle = graph.find_cycle()
    if cycle:
        raise _fail(
            f"services.{cycle[0]}.depends_on",
            "dependency cycle detected: " + " -> ".join(cycle),
            hint="remove one depends_on (or link/volumes_from) so the dependencies form a tree",
        )


def check_devices(config: dict[str, Any]) -> None:
    for name, svc in _services(config):
        reservations = ((svc.get("deploy") or {}).get("resources") or {}).get("reservations") or {}
        for i, dev in enumerate(reservations.get("devices") or []):
            path = f"services.{name}.deploy.resources.reservations.devices[{i}]"
            if "count" in dev and "device_ids" in dev:
                raise _fail(
                    path,
                    f'{path}: "count" and "device_ids" attributes are exclusive',
                    hint="keep count or device_ids",
                )
            count = dev.get("count")
            if count is not None and count != "all" and not _is_int(count):
                raise _fail(
                    f"{path}.count",
                    f"{path}.count: invalid value {count!r}, the only value allowed is 'all' or a number",
                )


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())


def check_container_names(config: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for name, svc in _services(config):
        cname = svc.get("container_name")
        if cname and cname in seen:
            raise _fail(
                f"services.{name}.container_name",
                f"services {seen[cname]!r} and {name!r} both use container_name {cname!r}",
                hint="container names must be unique",
            )
        if cname:
            seen[cname] = name


def check_images(config: dict[str, Any]) -> None:
    images = config.get("images") or {}
    for name, spec in sorted(images.items()):
        if not isinstance(spec, dict):
            raise _fail(
                f"images.{name}",
                f"images.{name} must be a mapping",
                hint="write images: {NAME: {from: BASE, steps: [...]}}",
            )
    for name, svc in _services(config):
        if not svc.get("image") and not svc.get("build") and not svc.get("provider"):
            raise _fail(
                f"services.{name}",
                f"service {name!r} has neither an image nor a build context specified",
                hint="add image: NAME (a registry image or one of images:) or build: DIR",
            )


def check_restart(config: dict[str, Any]) -> None:
    for name, svc in _services(config):
        policy = svc.get("restart")
        if policy is None:
            continue
        base, _, count = str(policy).partition(":")
        if base not in ("no", "always", "on-failure", "unless-stopped") or (
            count and (base != "on-failure" or not count.isdigit())
        ):
            raise _fail(
                f"services.{name}.restart",
                f"service {name!r}: invalid restart policy {policy!r}",
                hint="use no, always, unless-stopped, on-failure or on-failure:N",
            )


CHECKS: list[Check] = [
    check_restart,
    check_network_mode,
    check_references,
    check_depends_on,
    check_devices,
    check_container_names,
    check_images,
]


def validate_project(config: dict[str, Any]) -> None:
    """Run every check in :data:`CHECKS` (the first failure is raised)."""
    for check in CHECKS:
        check(config)
