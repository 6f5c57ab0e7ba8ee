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


def check_depends_on(config: dict[str, Any], defined: set[str] | None = None) -> None:
    """Dependencies must be defined; an inactive (profile) one is fine only when not required."""
    services = config.get("services") or {}
    graph: Graph[str] = Graph()
    for name, svc in _services(config):
        graph.add_node(name)
        for dep, cond in sorted((svc.get("depends_on") or {}).items()):
            if dep in services:
                graph.add_edge(name, dep)
            elif dep not in (defined or ()) or cond.get("required", True):
                raise _fail(
                    f"services.{name}.depends_on",
                    f"service {name!r} depends on undefined service {dep!r}",
                    hint="valid services: "
                    + ", ".join(sorted(services))
                    + (
                        "; an inactive profile's service needs required: false"
                        if dep in (defined or ())
                        else ""
                    ),
                )
    cycle = graph.find_cycle()
    if cycle:
        raise _fail(
            f"services.{cycle[0]}.depends_on",
            "dependency cycle detected: " + " -> ".join(cycle),
            hint="remove one depends_on (or link/volumes_from) so the dependencies form a tree",
        )


def check_build(config: dict[str, Any]) -> None:
    for name, svc in _services(config):
        build = svc.get("build") or {}
        if build.get("dockerfile_inline") and "dockerfile" in build and build["dockerfile"] != "Dockerfile":
            raise _fail(
                f"services.{name}.build",
                f"service {name!r} declares mutually exclusive dockerfile and dockerfile_inline",
                hint="keep one of build.dockerfile and build.dockerfile_inline",
            )


def check_scale(config: dict[str, Any]) -> None:
    for name, svc in _services(config):
        replicas = (svc.get("deploy") or {}).get("replicas")
        if svc.get("scale") is not None and replicas is not None and str(svc["scale"]) != str(replicas):
            raise _fail(
                f"services.{name}.scale",
                f"service {name!r}: can't set distinct values on 'scale' and 'deploy.replicas'",
                hint="set the number of replicas in one place only",
            )
        if svc.get("cpus") is not None and _float(svc["cpus"]) is None:
            raise _fail(
                f"services.{name}.cpus",
                f"service {name!r}: cpus must be a number, got {svc['cpus']!r}",
                hint="e.g. cpus: 1.5",
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
                    hint="write count: all or count: 2",
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
    if images:
        from stackfile.spec.recipes import image_dependencies

        graph: Graph[str] = Graph()
        for name, deps in image_dependencies(images).items():
            graph.add_node(name)
            for dep in deps:
                graph.add_edge(name, dep)
        cycle = graph.find_cycle()
        if cycle:
            raise _fail(
                f"images.{cycle[0]}",
                "image cycle detected: " + " -> ".join(cycle),
                hint="an image cannot be built from itself, directly or through from:/copy from:",
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


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def check_resource_conflicts(config: dict[str, Any]) -> None:
    """``mem_limit``/``cpus`` and ``deploy.resources.limits`` must agree when both are set."""
    for name, svc in _services(config):
        limits = ((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        for short, long in (("mem_limit", "memory"), ("cpus", "cpus")):
            a, b = svc.get(short), limits.get(long)
            if a is not None and b is not None and _float(a) != _float(b):
                raise _fail(
                    f"services.{name}.{short}",
                    f"service {name!r}: can't set distinct values on '{short}' and "
                    f"'deploy.resources.limits.{long}'",
                    hint="set the limit in one place only",
                )


CHECKS: list[Check] = [
    check_build,
    check_scale,
    check_resource_conflicts,
    check_restart,
    check_network_mode,
    check_references,
    check_devices,
    check_container_names,
    check_images,
]


def validate_project(config: dict[str, Any], defined: set[str] | None = None) -> None:
    """Run every check in :data:`CHECKS` (the first failure is raised).

    ``defined`` names every service before profiles were applied (for ``depends_on``).
    """
    for check in CHECKS:
        check(config)
    check_depends_on(config, defined)
