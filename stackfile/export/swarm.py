"""A compose file that ``docker stack deploy`` accepts, from a stack's canonical config.

Swarm reads the version 3 format (Docker 20.10 checks it against the 3.9 schema, which refuses
unknown keys). ``build:`` is replaced by the pushed image; only keys Swarm uses are kept, each other
key gets one warning; ``deploy:`` is kept; v2-era limits (``mem_limit``, ``cpus``, ``scale``) move
into ``deploy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackfile.export import Export, untranslated_keys

__all__ = ["VERSION", "to_swarm"]

VERSION = "3.9"

# service keys of the 3.9 schema that `docker stack deploy` uses (it ignores build, restart, links,
# network_mode, privileged... and refuses container_name, mem_limit, cpu_shares...)
_KEEP = frozenset(
    {
        "cap_add",
        "cap_drop",
        "command",
        "configs",
        "credential_spec",
        "deploy",
        "dns",
        "dns_search",
        "entrypoint",
        "environment",
        "expose",
        "extra_hosts",
        "healthcheck",
        "hostname",
        "image",
        "init",
        "isolation",
        "labels",
        "logging",
        "networks",
        "ports",
        "read_only",
        "secrets",
        "stop_grace_period",
        "stop_signal",
        "sysctls",
        "stdin_open",
        "tmpfs",
        "tty",
        "ulimits",
        "user",
        "volumes",
        "working_dir",
    }
)
_MOVED = frozenset({"mem_limit", "mem_reservation", "cpus", "scale", "build", "profiles"})
_PORT_KEYS = ("mode", "target", "published", "protocol")
_HEALTH_KEYS = ("test", "interval", "timeout", "retries", "start_period", "disable")
_DEPLOY_KEYS = (
    "mode",
    "replicas",
    "labels",
    "update_config",
    "rollback_config",
    "resources",
    "restart_policy",
    "placement",
    "endpoint_mode",
    "max_replicas_per_node",
)
_NETWORK_KEYS = ("name", "driver", "driver_opts", "ipam", "external", "internal", "attachable", "labels")
_VOLUME_KEYS = ("name", "driver", "driver_opts", "external", "labels")
_FILE_KEYS = ("name", "file", "external", "labels", "template_driver")


def to_swarm(config: Mapping[str, Any], images: Mapping[str, str]) -> Export:
    """The stack file for ``docker stack deploy``; ``images`` names the image each service runs
    (for a built service: the pushed reference, ideally pinned by digest)."""
    warnings: list[str] = []
    out: dict[str, Any] = {"version": VERSION, "services": {}}
    for name, svc in sorted((config.get("services") or {}).items()):
        out["services"][name] = _service(name, svc, images, warnings)
    for kind, keys in (
        ("networks", _NETWORK_KEYS),
        ("volumes", _VOLUME_KEYS),
        ("secrets", _FILE_KEYS),
        ("configs", _FILE_KEYS),
    ):
        declared = config.get(kind) or {}
        if declared:
            section = {n: _top(kind, n, d or {}, keys, warnings) for n, d in sorted(declared.items())}
            section = {n: d for n, d in section.items() if d is not None}
            if section:
                out[kind] = section
    for key in untranslated_keys(config):
        warnings.append(f"{key}: not supported by Swarm; left out")
    return Export([_escape(out)], warnings)


def _escape(value: Any) -> Any:
    """Every ``$`` doubled: ``docker stack deploy`` interpolates the file again, and the values here
    are final (the loader already substituted what the stack file asked for)."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def _service(
    name: str, svc: Mapping[str, Any], images: Mapping[str, str], warnings: list[str]
) -> dict[str, Any]:
    key = f"services.{name}"
    out: dict[str, Any] = {}
    for k in sorted(svc):
        if k not in _KEEP and k not in _MOVED and not k.startswith("x-"):
            warnings.append(f"{key}.{k}: not supported by Swarm; left out")
    image = images.get(name) or svc.get("image")
    if svc.get("build") is not None and image and "@sha256:" not in image:
        warnings.append(
            f"{key}.image: {image} is not pinned by digest; nodes may run different builds "
            "(push it first and export with --pin-digests)"
        )
    for k in sorted(_KEEP & set(svc)):
        value = svc[k]
        if k == "image":
            continue
        if k == "ports":
            value = [_port(key, i, p, warnings) for i, p in enumerate(value)]
        elif k == "volumes":
            value = [_volume(m) for m in value]
        elif k == "healthcheck":
            value = _subset(f"{key}.healthcheck", value, _HEALTH_KEYS, warnings)
        elif k == "networks":
            value = {
                n: (
                    None
                    if not a
                    else {x: a[x] for x in ("aliases", "ipv4_address", "ipv6_address") if a.get(x)} or None
                )
                for n, a in value.items()
            }
        elif k in ("secrets", "configs"):
            value = [_file_ref(r) for r in value]
        elif k == "deploy":
            value = _subset(f"{key}.deploy", value, _DEPLOY_KEYS, warnings)
        out[k] = value
    if image:
        out["image"] = image
    deploy = dict(out.get("deploy") or {})
    if svc.get("scale") is not None and "replicas" not in deploy:
        deploy["replicas"] = int(svc["scale"])
    resources = {part: dict(v) for part, v in (deploy.get("resources") or {}).items()}
    for field, part, target in (
        ("mem_limit", "limits", "memory"),
        ("cpus", "limits", "cpus"),
        ("mem_reservation", "reservations", "memory"),
    ):
        if svc.get(field) is not None:
            resources.setdefault(part, {}).setdefault(target, svc[field])
    for part, values in resources.items():
        for k in list(values):
            if k in ("memory", "cpus"):
                values[k] = str(values[k])
            elif k not in ("generic_resources", "devices") or part == "limits":
                warnings.append(f"{key}.deploy.resources.{part}.{k}: not supported by Swarm; left out")
                del values[k]
    if resources:
        deploy["resources"] = resources
    if deploy:
        out["deploy"] = deploy
    return dict(sorted(out.items()))


def _port(key: str, i: int, port: Mapping[str, Any], warnings: list[str]) -> dict[str, Any]:
    if port.get("host_ip"):
        warnings.append(f"{key}.ports[{i}].host_ip: not supported by Swarm (ports publish on every node)")
    out = {k: port[k] for k in _PORT_KEYS if port.get(k) is not None}
    if "published" in out:
        out["published"] = int(out["published"])
    return out


def _volume(mount: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in mount.items() if k in ("type", "source", "target", "read_only", "consistency")}
    bind = {k: v for k, v in (mount.get("bind") or {}).items() if k == "propagation"}
    if bind:
        out["bind"] = bind
    if (mount.get("volume") or {}).get("nocopy"):
        out["volume"] = {"nocopy": True}
    size = (mount.get("tmpfs") or {}).get("size")
    if size is not None:
        out["tmpfs"] = {"size": int(size)}
    return out


def _file_ref(ref: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: ref[k] for k in ("source", "target", "uid", "gid") if ref.get(k) is not None}
    if ref.get("mode") is not None:
        mode = ref["mode"]
        out["mode"] = int(mode, 8) if isinstance(mode, str) else int(mode)
    return out


def _subset(key: str, value: Mapping[str, Any], keys: tuple[str, ...], warnings: list[str]) -> dict[str, Any]:
    for k in sorted(value):
        if k not in keys:
            warnings.append(f"{key}.{k}: not supported by Swarm; left out")
    return {k: value[k] for k in keys if k in value}


def _top(
    kind: str, name: str, decl: Mapping[str, Any], keys: tuple[str, ...], warnings: list[str]
) -> dict[str, Any] | None:
    where = f"{kind}.{name}"
    if kind in ("secrets", "configs") and not decl.get("file") and not decl.get("external"):
        source = "environment" if decl.get("environment") else "content"
        warnings.append(
            f"{where}: an {source} source is not supported by Swarm; create it with `docker {kind[:-1]} "
            f"create` and declare it external"
        )
        return {"external": True, "name": decl.get("name") or name}
    if kind == "networks" and decl.get("driver") in ("bridge", "host"):
        warnings.append(f"{where}.driver: {decl['driver']} is not a Swarm network driver; overlay is used")
        decl = {k: v for k, v in decl.items() if k != "driver"}
    for k in sorted(decl):
        if k not in keys and not k.startswith("x-"):
            warnings.append(f"{where}.{k}: not supported by Swarm; left out")
    return {k: decl[k] for k in keys if k in decl}
