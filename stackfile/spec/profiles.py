"""Profiles: services with ``profiles:`` run only when one of them is active (``*`` = all)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["active_profiles", "apply_profiles", "disabled_services", "enable_services"]


def active_profiles(requested: list[str], env: Mapping[str, str]) -> list[str]:
    """``--profile`` values, else ``COMPOSE_PROFILES`` (which ``.env`` may set)."""
    if requested:
        return sorted(set(requested))
    return sorted({p.strip() for p in env.get("COMPOSE_PROFILES", "").split(",") if p.strip()})


def _enabled(service: Any, active: set[str]) -> bool:
    wanted = service.get("profiles") if isinstance(service, dict) else None
    return not wanted or "*" in active or bool(active & {str(p) for p in wanted})


def apply_profiles(doc: dict[str, Any], profiles: list[str]) -> dict[str, Any]:
    """Return ``doc`` without the services whose profiles are all inactive."""
    services = doc.get("services")
    if not isinstance(services, dict):
        return doc
    active = set(profiles)
    return {**doc, "services": {n: s for n, s in services.items() if _enabled(s, active)}}


def enable_services(doc: dict[str, Any], profiles: list[str], names: list[str]) -> list[str]:
    """The active profiles once the services ``names`` (given on the command line) are enabled:
    a named service whose profiles are all inactive brings them in (Compose's
    ``WithServicesEnabled``: other services of those profiles are enabled with it)."""
    services = doc.get("services")
    if not names or not isinstance(services, dict):
        return profiles
    active = set(profiles)
    for name in names:
        service = services.get(name)
        if isinstance(service, dict) and not _enabled(service, active):
            active |= {str(p) for p in service.get("profiles") or ()}
    return sorted(active)


def disabled_services(doc: dict[str, Any], profiles: list[str]) -> list[str]:
    """The services defined but left out by the active ``profiles``."""
    services = doc.get("services")
    if not isinstance(services, dict):
        return []
    active = set(profiles)
    return sorted(n for n, s in services.items() if not _enabled(s, active))
