"""Canonical (long-syntax, fully resolved) form of a merged project: the shape ``config`` prints.

Service keys are rewritten by :data:`stackfile.spec.service_keys.TRANSFORMS`; top-level resources
get their project-prefixed names; ``env_file`` is folded into ``environment``; the implicit
``default`` network is added when a service uses it.
"""

from __future__ import annotations

from typing import Any

from stackfile.errors import InvalidSpec, Location
from stackfile.spec.context import Context
from stackfile.spec.envfiles import resolve_environment
from stackfile.spec.service_keys import TRANSFORMS, to_mapping

__all__ = ["RESOURCE_KINDS", "canonical", "canonical_service"]

RESOURCE_KINDS = ("networks", "volumes", "secrets", "configs")


def canonical_service(name: str, service: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """One service in long syntax; ``ValueError`` from a transform becomes ``InvalidSpec``."""
    out = dict(service)
    for key in sorted(out):
        transform = TRANSFORMS.get(key)
        if transform is None or out[key] is None:
            continue
        try:
            out[key] = transform(out[key], ctx)
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidSpec(f"service {name!r}: invalid {key}: {exc}",
                              location=Location(key_path=f"services.{name}.{key}")) from None
    if "environment" in out or "env_file" in out:
        out["environment"] = resolve_environment(service, ctx)
        out.pop("env_file", None)
    if "network_mode" not in out and not out.get("networks"):
        out["networks"] = {"default": None}
    return out


def _resource(kind: str, key: str, value: Any, ctx: Context) -> dict[str, Any]:
    out = dict(value or {})
    external = out.get("external")
    if isinstance(external, dict):
        if external.get("name"):
            if out.get("name") and out["name"] != external["name"]:
                raise InvalidSpec(f"{kind}.{key}: name and external.name conflict; only use name",
                                  location=Location(key_path=f"{kind}.{key}"))
            out["name"] = external["name"]
        out["external"] = True
    if "labels" in out:
        out["labels"] = to_mapping(out["labels"])
    if out.get("external"):
        out.setdefault("name", key)
    else:
        out.setdefault("name", f"{ctx.project_name}_{key}")
    if kind in ("secrets", "configs") and isinstance(out.get("file"), str):
        out["file"] = ctx.abspath(out["file"])
    return out


def canonical(doc: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Return the canonical project dict (a new object; ``doc`` is not modified)."""
    out: dict[str, Any] = {"name": ctx.project_name}
    services = {name: canonical_service(name, svc or {}, ctx)
                for name, svc in sorted((doc.get("services") or {}).items())}
    out["services"] = services
    for kind in RESOURCE_KINDS:
        section = {key: _resource(kind, key, value, ctx) for key, value in (doc.get(kind) or {}).items()}
        if kind == "networks" and any("default" in (s.get("networks") or {}) for s in services.values()):
            section.setdefault("default", {"name": f"{ctx.project_name}_default"})
        if section:
            out[kind] = dict(sorted(section.items()))
    for key, value in doc.items():
        if key not in out and key not in ("version", "include"):
            out[key] = value
    return out
