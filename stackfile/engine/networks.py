"""Use cases behind ``stackfile network ...`` and ``stackfile volume ...``.

Listings and inspection only read the store; creating or removing a network touches the kernel
(bridges, firewall, DNS process) through :mod:`stackfile.network`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stackfile.errors import StackfileError
from stackfile.store.paths import StorePaths

__all__ = [
    "network_create",
    "network_inspect",
    "network_ls",
    "network_prune",
    "network_rm",
    "volume_create",
    "volume_inspect",
    "volume_ls",
    "volume_prune",
    "volume_rm",
]


def _networks(paths: StorePaths) -> Any:
    from stackfile.network.manager import NetworkManager

    return NetworkManager(paths)


def _volumes(paths: StorePaths) -> Any:
    from stackfile.volumes import VolumeManager

    return VolumeManager(paths)


def network_ls(paths: StorePaths, project: str | None = None) -> list[dict[str, Any]]:
    """Every network as a dict (``Name``, ``Subnet``, ``Containers``...), sorted by name."""
    nm = _networks(paths)
    return [rec.to_dict() | {"Containers": len(nm.containers_on(rec.name))}
            for rec in nm.list_networks(project)]


def network_inspect(paths: StorePaths, names: Sequence[str]) -> list[dict[str, Any]]:
    """Full records, with the attached containers and their addresses."""
    nm = _networks(paths)
    out = []
    for name in names:
        rec = nm.inspect_network(name)
        members = {}
        for sid in nm.containers_on(rec.name):
            ep = next(e for e in nm.sandbox(sid).endpoints if e.network == rec.name)
            members[sid] = {"IPv4Address": f"{ep.address}/{ep.prefixlen}", "Interface": ep.ifname,
                            "HostInterface": ep.host_ifname, "Aliases": list(ep.aliases)}
        out.append(rec.to_dict() | {"Containers": members})
    return out


def network_create(paths: StorePaths, name: str, *, subnet: str | None = None, gateway: str | None = None,
                   internal: bool = False, labels: Mapping[str, str] | None = None,
                   driver: str = "bridge", options: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Create a network (idempotent for an identical name) and return its record."""
    from stackfile.errors import Conflict
    from stackfile.network.model import NetworkConfig

    nm = _networks(paths)
    if nm.get_network(name) is not None:
        raise Conflict(f"network {name!r} already exists")
    cfg = NetworkConfig(name=name, subnet=subnet, gateway=gateway, internal=internal,
                        labels=dict(labels or {}), driver=driver, driver_opts=dict(options or {}))
    return dict(nm.ensure_network(cfg).to_dict())


def network_rm(paths: StorePaths, names: Sequence[str]) -> list[tuple[str, StackfileError | None]]:
    """Remove each network; returns (name, error or None) per name, in order."""
    nm = _networks(paths)
    out: list[tuple[str, StackfileError | None]] = []
    for name in names:
        try:
            nm.remove_network(name)
            out.append((name, None))
        except StackfileError as exc:
            out.append((name, exc))
    return out


def network_prune(paths: StorePaths) -> list[str]:
    """Remove every network no container is attached to."""
    return list(_networks(paths).prune())


def volume_ls(paths: StorePaths, project: str | None = None) -> list[dict[str, Any]]:
    return [v.to_dict() for v in _volumes(paths).list_volumes(project)]


def volume_inspect(paths: StorePaths, names: Sequence[str]) -> list[dict[str, Any]]:
    vm = _volumes(paths)
    return [vm.inspect(n).to_dict() for n in names]


def volume_create(paths: StorePaths, name: str, *, labels: Mapping[str, str] | None = None,
                  driver: str = "local", options: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Create a volume (an existing one is returned unchanged, as ``docker volume create`` does)."""
    if not name:
        import secrets

        name = secrets.token_hex(32)
    return dict(_volumes(paths).create(name, labels=labels, driver=driver, driver_opts=options).to_dict())


def volume_rm(paths: StorePaths, names: Sequence[str], *, force: bool = False
              ) -> list[tuple[str, StackfileError | None]]:
    vm = _volumes(paths)
    out: list[tuple[str, StackfileError | None]] = []
    for name in names:
        try:
            vm.remove(name, force=force)
            out.append((name, None))
        except StackfileError as exc:
            out.append((name, exc))
    return out


def volume_prune(paths: StorePaths, *, all: bool = False) -> list[str]:
    """Remove unused anonymous volumes, or every unused volume with ``all``."""
    return list(_volumes(paths).prune(all=all))


