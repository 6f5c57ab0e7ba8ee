"""What the stack asks for, read from ``stackfile.spec.model.Stack`` into small plain records.

The planner works on these so it depends on a handful of model fields only. Works on the
typed models and on the canonical ``config`` dicts alike (tests may use either).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from stackfile.reconcile.hash import config_fields, config_hash

__all__ = ["Dependency", "DesiredService", "desired_services", "get", "network_name", "service_image",
           "volume_name"]


def get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` for mappings, ``obj.key`` for models; ``default`` when absent or None."""
    value = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return default if value is None else value


class Dependency(NamedTuple):
    """One ``depends_on`` entry."""

    service: str
    condition: str = "service_started"
    required: bool = True
    restart: bool = False


class DesiredService(NamedTuple):
    """The planner's view of one service."""

    name: str
    image: str
    buildable: bool
    replicas: int
    depends_on: tuple[Dependency, ...]
    networks: tuple[str, ...]  # full network names
    volumes: tuple[str, ...]  # full names of named volumes it mounts
    fields: Mapping[str, str] = MappingProxyType({})
    hash: str = ""
    container_name: str = ""
    uses: tuple[str, ...] = ()  # services it needs besides depends_on (network_mode, volumes_from, links)

    def container_name_for(self, project: str, number: int) -> str:
        return self.container_name or f"{project}-{self.name}-{number}"


def network_name(stack: Any, key: str) -> str:
    net = get(get(stack, "networks", {}), key)
    return str(get(net, "name", "") or f"{get(stack, 'name', '')}_{key}")


def volume_name(stack: Any, key: str) -> str:
    vol = get(get(stack, "volumes", {}), key)
    return str(get(vol, "name", "") or f"{get(stack, 'name', '')}_{key}")


def _replicas(svc: Any) -> int:
    scale = get(svc, "scale")
    if scale is not None:
        return int(scale)
    replicas = get(get(svc, "deploy", {}), "replicas")
    return 1 if replicas is None else int(replicas)


def _depends(svc: Any) -> tuple[Dependency, ...]:
    deps = get(svc, "depends_on", {})
    if isinstance(deps, list | tuple):
        return tuple(Dependency(str(d)) for d in sorted(deps))
    return tuple(
        Dependency(str(name), str(get(d, "condition", "service_started")),
                   bool(get(d, "required", True)), bool(get(d, "restart", False)))
        for name, d in sorted(deps.items())
    )


def _uses(svc: Any) -> tuple[str, ...]:
    out = set()
    mode = str(get(svc, "network_mode", ""))
    if mode.startswith("service:"):
        out.add(mode.split(":", 1)[1])
    for entry in get(svc, "volumes_from", []) or []:
        text = str(entry)
        if not text.startswith("container:"):
            out.add(text.split(":", 1)[0])
    for link in get(svc, "links", []) or []:  # Compose starts a linked service first
        out.add(str(link).split(":", 1)[0])
    return tuple(sorted(out))


def _networks(stack: Any, svc: Any) -> tuple[str, ...]:
    if get(svc, "network_mode"):
        return ()
    nets = get(svc, "networks", None)
    keys = sorted(nets) if nets else ["default"]
    declared = get(stack, "networks", {})
    out = []
    for key in keys:
        if get(get(declared, key, {}), "external", False):
            continue
        out.append(network_name(stack, key))
    return tuple(out)


def _volumes(stack: Any, svc: Any) -> tuple[str, ...]:
    declared = get(stack, "volumes", {})
    out = set()
    for mount in get(svc, "volumes", []) or []:
        source = get(mount, "source", "")
        if get(mount, "type") == "volume" and source in declared \
                and not get(get(declared, source), "external", False):
            out.add(volume_name(stack, source))
    return tuple(sorted(out))


def service_image(stack: Any, name: str, svc: Any) -> tuple[str, bool]:
    """The image reference a service runs (``<project>-<service>`` when it is built and has no
    ``image``) and whether stackfile builds it."""
    image = get(svc, "image", "")
    images = get(stack, "images", {}) or {}
    if get(svc, "build") is not None:
        return str(image or f"{get(stack, 'name', '')}-{name}"), True
    return str(image), str(image) in images


def desired_services(stack: Any) -> dict[str, DesiredService]:
    """Every service of ``stack`` as a :class:`DesiredService`, keyed by name."""
    out = {}
    for name, svc in sorted(get(stack, "services", {}).items()):
        fields = config_fields(svc)
        image, buildable = service_image(stack, name, svc)
        out[name] = DesiredService(
            name=name, image=image, buildable=buildable, replicas=_replicas(svc),
            depends_on=_depends(svc), networks=_networks(stack, svc), volumes=_volumes(stack, svc),
            fields=fields, hash=config_hash(fields), container_name=str(get(svc, "container_name", "")),
            uses=_uses(svc),
        )
    return out
