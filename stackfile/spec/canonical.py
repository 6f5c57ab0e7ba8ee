"""Canonical (long-syntax, fully resolved) form of a merged project: the shape ``config`` prints.

Service keys are rewritten by :data:`stackfile.spec.service_keys.TRANSFORMS`; top-level resources
get their project-prefixed names; ``env_file`` is folded into ``environment``; the implicit
``default`` network is added when a service uses it.
"""

from __future__ import annotations

from typing import Any

from stackfile.errors import InvalidSpec, Location, StackfileError
from stackfile.spec.context import Context
from stackfile.spec.envfiles import resolve_environment, resolve_labels
from stackfile.spec.service_keys import TRANSFORMS, to_mapping
from stackfile.spec.validate import check_external

__all__ = ["RESOURCE_KINDS", "canonical", "canonical_service"]

RESOURCE_KINDS = ("networks", "volumes", "secrets", "configs")


def _raw_service(service: dict[str, Any]) -> dict[str, Any]:
    """``--no-interpolate``: values may still be ``${...}`` templates, so keep them as written."""
    out = dict(service)
    if "network_mode" not in out and "provider" not in out and not out.get("networks"):
        out["networks"] = {"default": None}
    return out


def canonical_service(name: str, service: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """One service in long syntax; ``ValueError`` from a transform becomes ``InvalidSpec``."""
    out = dict(service)
    for key in sorted(out):
        transform = TRANSFORMS.get(key)
        if transform is None or out[key] is None:
            continue
        try:
            out[key] = transform(out[key], ctx)
            if out[key] is None:
                del out[key]
        except (ValueError, TypeError, KeyError) as exc:
            from stackfile.spec.hints import TRANSFORM_HINTS

            below = getattr(exc, "key_path", "")  # service_keys.KeyedValueError: where inside the value
            where = f"{key}{'' if not below or below.startswith('[') else '.'}{below}"
            raise InvalidSpec(
                f"service {name!r}: invalid {where}: {exc}",
                location=Location(key_path=f"services.{name}.{where}"),
                hint=getattr(exc, "hint", None) or TRANSFORM_HINTS.get(key),
            ) from None
    if "environment" in out or "env_file" in out:
        try:
            out["environment"] = resolve_environment(service, ctx)
        except StackfileError as exc:
            if exc.location is None:
                exc.location = Location(key_path=f"services.{name}.env_file")
            raise
        out.pop("env_file", None)
        if not out["environment"]:
            del out["environment"]
    if "label_file" in out:
        out["labels"] = resolve_labels(service, ctx)
        del out["label_file"]
    _implied_dependencies(out)
    if "network_mode" not in out and "provider" not in out and not out.get("networks"):
        out["networks"] = {"default": None}
    return dict(sorted(out.items()))  # Compose prints service keys in name order


def _implied_dependencies(service: dict[str, Any]) -> None:
    """``links``, ``volumes_from``, ``network_mode/ipc/pid: service:x`` imply ``depends_on``."""
    implied: dict[str, bool] = {}
    for link in service.get("links") or []:
        implied[str(link).split(":")[0]] = True
    for source in service.get("volumes_from") or []:
        if not str(source).startswith("container:"):
            implied.setdefault(str(source).split(":")[0], False)
    for key in ("network_mode", "ipc", "pid"):
        value = service.get(key)
        if isinstance(value, str) and value.startswith("service:"):
            implied[value[len("service:") :]] = True
    if not implied:
        return
    deps = dict(service.get("depends_on") or {})
    for name, restart in implied.items():
        if name not in deps:
            deps[name] = {
                "condition": "service_started",
                "required": True,
                **({"restart": True} if restart else {}),
            }
    service["depends_on"] = deps


def used_resources(services: dict[str, Any]) -> dict[str, set[str]]:
    """Names of networks, volumes, secrets, configs and models that active services refer to."""
    used: dict[str, set[str]] = {k: set() for k in (*RESOURCE_KINDS, "models")}
    for svc in services.values():
        used["networks"].update(svc.get("networks") or {})
        used["models"].update(svc.get("models") or {})
        for mount in svc.get("volumes") or []:
            if isinstance(mount, str):  # a raw (--no-interpolate) service keeps the short syntax
                source, sep, _ = mount.partition(":")
                if sep and source and not source.startswith(("/", ".", "~", "$")):
                    used["volumes"].add(source)
            elif mount.get("type") == "volume" and mount.get("source"):
                used["volumes"].add(mount["source"])
        for kind in ("secrets", "configs"):
            used[kind].update(
                m["source"] for m in svc.get(kind) or [] if isinstance(m, dict) and "source" in m
            )
        build = svc.get("build") or {}
        used["secrets"].update(m["source"] for m in build.get("secrets") or [] if isinstance(m, dict))
    return used


def _resource(kind: str, key: str, value: Any, ctx: Context) -> dict[str, Any]:
    out = dict(value or {})
    external = out.get("external")
    if isinstance(external, dict):
        if external.get("name"):
            if out.get("name") and out["name"] != external["name"]:
                raise InvalidSpec(
                    f"{kind}.{key}: name and external.name conflict; only use name",
                    location=Location(key_path=f"{kind}.{key}"),
                    hint=f"write name: {external['name']} and external: true (external.name is deprecated)",
                )
            out["name"] = external["name"]
        out["external"] = True
    if "labels" in out:
        out["labels"] = to_mapping(out["labels"])
    if kind == "networks" and isinstance(out.get("ipam"), dict) and "options" in out["ipam"]:
        out["ipam"] = {k: v for k, v in out["ipam"].items() if k != "options"}  # Compose drops them too
    check_external(kind, key, out)
    if out.get("external"):
        out.setdefault("name", key)
    else:
        out.setdefault("name", f"{ctx.project_name}_{key}")
    if kind in ("secrets", "configs") and isinstance(out.get("file"), str):
        out["file"] = ctx.abspath(out["file"])
    return out


def canonical(doc: dict[str, Any], ctx: Context, *, raw: bool = False) -> dict[str, Any]:
    """Return the canonical project dict (a new object; ``doc`` is not modified).

    ``raw`` (for ``--no-interpolate``) keeps service values as written, like Compose does.
    """
    out: dict[str, Any] = {"name": ctx.project_name}
    services = {
        name: _raw_service(svc or {}) if raw else canonical_service(name, svc or {}, ctx)
        for name, svc in sorted((doc.get("services") or {}).items())
    }
    out["services"] = services
    used = used_resources(services)
    for kind in RESOURCE_KINDS:
        every = {key: _resource(kind, key, value, ctx) for key, value in (doc.get(kind) or {}).items()}
        section = {key: value for key, value in every.items() if key in used[kind]}
        if kind == "networks" and "default" in used["networks"]:
            section.setdefault("default", {"name": f"{ctx.project_name}_default"})
        if section:
            out[kind] = dict(sorted(section.items()))
    models = {k: v for k, v in (doc.get("models") or {}).items() if k in used["models"]}
    if models:
        out["models"] = models
    for key, value in doc.items():
        if key not in out and key not in ("version", "include", "models", *RESOURCE_KINDS):
            out[key] = value
    return out
