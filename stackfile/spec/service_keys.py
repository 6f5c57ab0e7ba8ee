"""Short → long syntax for the values of one service, registered per key in ``TRANSFORMS``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stackfile.spec.context import Context
from stackfile.spec.ports import parse_port, port_long
from stackfile.spec.units import normalize_duration, parse_size
from stackfile.spec.volumes import is_windows_path, parse_volume

__all__ = ["TRANSFORMS", "to_mapping"]

Transform = Callable[[Any, Context], Any]
DURATIONS = ("interval", "timeout", "start_period", "start_interval")


def _str(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if value is None else str(value)


def to_mapping(
    value: Any, sep: str = "=", *, stringify: bool = True, empty: str | None = None
) -> dict[str, Any]:
    """``["A=1", "B"]`` → ``{"A": "1", "B": empty}``; mappings pass with string values."""
    if isinstance(value, dict):
        return {str(k): (_str(v) if stringify else v) if v is not None else empty for k, v in value.items()}
    out: dict[str, Any] = {}
    for item in value or []:
        key, found, val = str(item).partition(sep)
        out[key] = val if found else empty
    return out


def labels(value: Any, ctx: Context) -> dict[str, Any]:
    return to_mapping(value, empty="")


def shell_split(value: Any, ctx: Context) -> Any:
    if isinstance(value, str):
        import shlex

        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split {value!r} like a shell: {exc}") from None
    return [_str(v) for v in value] if isinstance(value, list) else value


def string_or_list(value: Any, ctx: Context) -> Any:
    return [value] if isinstance(value, str) else value


def ports(value: Any, ctx: Context) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in value or []:
        out.extend([port_long(item)] if isinstance(item, dict) else parse_port(str(item)))
    return out


def _bind_source(mount: dict[str, Any], ctx: Context) -> None:
    source = mount.get("source")
    if mount.get("type") == "bind" and isinstance(source, str) and source and not is_windows_path(source):
        mount["source"] = ctx.abspath(source)


def volumes(value: Any, ctx: Context) -> list[Any]:
    out = []
    for i, item in enumerate(value or []):
        mount = parse_volume(item) if isinstance(item, str) else dict(item)
        if isinstance(mount.get("bind"), dict) and mount["bind"].get("create_host_path") in (False, "false"):
            mount["bind"] = {k: v for k, v in mount["bind"].items() if k != "create_host_path"}
        if isinstance(item, dict) and mount.get("type") == "bind" and not mount.get("source"):
            raise KeyedValueError('invalid mount config for type "bind": field source must not be empty',
                                  f"[{i}].source", "name the host path to mount, e.g. source: ./data")
        if isinstance(mount.get("tmpfs"), dict) and mount["tmpfs"].get("size") is not None:
            try:
                mount["tmpfs"] = {**mount["tmpfs"], "size": size(mount["tmpfs"]["size"], ctx)}
            except ValueError as exc:
                raise KeyedValueError(str(exc), f"[{i}].tmpfs.size",
                                      "a byte size such as 64m or 1g") from None
        _bind_source(mount, ctx)
        out.append(mount)
    return out


def depends_on(value: Any, ctx: Context) -> dict[str, Any]:
    items = {name: None for name in value} if isinstance(value, list) else dict(value or {})
    out = {}
    for name, cond in items.items():
        cond = dict(cond or {})
        entry = {
            "condition": cond.get("condition", "service_started"),
            "required": cond.get("required", True),
        }
        if cond.get("restart"):
            entry["restart"] = True
        out[name] = entry
    return out


class KeyedValueError(ValueError):
    """A bad value inside a key's value: ``key_path`` (``interval``, ``restart_policy.delay``) says
    where below the key, so the error points at that line rather than the key's."""

    def __init__(self, message: str, key_path: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.key_path = key_path
        self.hint = hint


def healthcheck(value: Any, ctx: Context) -> Any:
    out = dict(value or {})
    if isinstance(out.get("test"), str):
        out["test"] = ["CMD-SHELL", out["test"]]
    return _durations(out, DURATIONS)


def build(value: Any, ctx: Context) -> dict[str, Any]:
    out = {"context": value} if isinstance(value, str) else dict(value or {})
    context = out.get("context") or "."
    out["context"] = context if "://" in context or context.startswith("git@") else ctx.abspath(context)
    if "dockerfile_inline" not in out:
        out.setdefault("dockerfile", "Dockerfile")
    if out.get("shm_size") is not None:
        out["shm_size"] = size(out["shm_size"], ctx)
    if "args" in out:
        args = to_mapping(out["args"])
        out["args"] = {
            k: v if v is not None else ctx.environment.get(k)
            for k, v in args.items()
            if v is not None or k in ctx.environment
        }
    if "labels" in out:
        out["labels"] = to_mapping(out["labels"], empty="")
    if "additional_contexts" in out:
        out["additional_contexts"] = to_mapping(out["additional_contexts"])
    if isinstance(out.get("secrets"), list):
        out["secrets"] = [{"source": s} if isinstance(s, str) else s for s in out["secrets"]]
    if out.get("ssh"):
        out["ssh"] = _ssh(out["ssh"], ctx)
    if "extra_hosts" in out:
        out["extra_hosts"] = extra_hosts(out["extra_hosts"], ctx)
    return out


def _ssh(value: Any, ctx: Context) -> list[str]:
    items = to_mapping(value) if isinstance(value, list | dict) else {str(value): None}
    return [f"{k}: {ctx.abspath(v)}" if v else k for k, v in items.items()]


def extra_hosts(value: Any, ctx: Context) -> list[str]:
    """Compose prints ``host=ip`` entries sorted by host (order of IPs per host kept)."""
    return sorted(_hosts(value, ctx), key=lambda h: h.split("=", 1)[0])


def _hosts(value: Any, ctx: Context) -> list[str]:
    if isinstance(value, dict):
        return [f"{h}={ip}" for h, ips in value.items() for ip in (ips if isinstance(ips, list) else [ips])]
    out = []
    for item in value or []:
        text = str(item)
        if "=" not in text and ":" in text:
            host, _, ip = text.partition(":")
            text = f"{host}={ip}"
        out.append(text)
    return out


def file_mounts(default_dir: str) -> Transform:
    def transform(value: Any, ctx: Context) -> list[Any]:
        out = []
        for item in value or []:
            entry = {"source": item} if isinstance(item, str) else dict(item)
            if default_dir and not entry.get("target"):
                entry["target"] = f"{default_dir}/{entry['source']}"
            if isinstance(entry.get("mode"), int) and not isinstance(entry["mode"], bool):
                entry["mode"] = f"0{entry['mode']:o}"
            out.append(entry)
        return out

    return transform


def devices(value: Any, ctx: Context) -> list[Any]:
    out = []
    for item in value or []:
        if isinstance(item, dict):
            out.append({"permissions": "rwm", **item})
            continue
        parts = str(item).split(":")
        source = parts[0]
        target = parts[1] if len(parts) > 1 else source
        out.append({"source": source, "target": target, "permissions": parts[2] if len(parts) > 2 else "rwm"})
    return out


def networks(value: Any, ctx: Context) -> dict[str, Any]:
    return {name: None for name in value} if isinstance(value, list) else dict(value or {})


def _watch(item: Any, ctx: Context) -> Any:
    if not isinstance(item, dict):
        return item
    out = dict(item)
    if out.get("path"):
        out["path"] = ctx.abspath(str(out["path"]))
    for key in ("ignore", "include"):
        if isinstance(out.get(key), str):
            out[key] = [out[key]]
    if isinstance(out.get("exec"), dict):
        out["exec"] = hook(out["exec"], ctx)
    return out


def develop(value: Any, ctx: Context) -> Any:
    out = dict(value or {})
    if isinstance(out.get("watch"), list):
        out["watch"] = [_watch(w, ctx) for w in out["watch"]]
    return out


def hook(value: Any, ctx: Context) -> Any:
    out = dict(value)
    if "command" in out:
        out["command"] = shell_split(out["command"], ctx)
    if "environment" in out:
        out["environment"] = to_mapping(out["environment"])
    return out


def hooks(value: Any, ctx: Context) -> Any:
    return [hook(h, ctx) if isinstance(h, dict) else h for h in value or []]


def provider(value: Any, ctx: Context) -> Any:
    out = dict(value or {})
    if isinstance(out.get("options"), dict):
        out["options"] = {
            k: [_str(x) for x in v] if isinstance(v, list) else [_str(v)] for k, v in out["options"].items()
        }
    return out


def size(value: Any, ctx: Context) -> Any:
    """Byte sizes print as a decimal string of bytes (``512m`` → ``"536870912"``); -1 stays."""
    if value is None or value == -1 or value == "-1":
        return value
    return str(parse_size(value))


def _device_request(item: Any) -> Any:
    if isinstance(item, dict) and item.get("count") == "all":
        return {**item, "count": -1}
    return item


def _resources(value: Any, ctx: Context) -> Any:
    out = dict(value or {})
    for part in ("limits", "reservations"):
        if isinstance(out.get(part), dict) and out[part].get("memory") is not None:
            try:
                out[part] = {**out[part], "memory": size(out[part]["memory"], ctx)}
            except ValueError as exc:
                raise KeyedValueError(str(exc), f"resources.{part}.memory",
                                      f"resources.{part}.memory is a byte size such as 512m") from None
        if isinstance(out.get(part), dict) and isinstance(out[part].get("devices"), list):
            out[part] = {**out[part], "devices": [_device_request(d) for d in out[part]["devices"]]}
    return out


def _durations(value: Any, keys: tuple[str, ...], where: str = "") -> Any:
    """``value`` with its ``keys`` (those present and set) as normalized durations."""
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for key in keys:
        if out.get(key) is not None:
            try:
                out[key] = normalize_duration(out[key])
            except ValueError as exc:
                raise KeyedValueError(str(exc), f"{where}.{key}" if where else key,
                                      "use a duration such as 30s, 1m30s or 500ms") from None
    return out


def deploy(value: Any, ctx: Context) -> Any:
    out = dict(value or {})
    if "labels" in out:
        out["labels"] = to_mapping(out["labels"], empty="")
    if isinstance(out.get("resources"), dict):
        out["resources"] = _resources(out["resources"], ctx)
    if "restart_policy" in out:
        out["restart_policy"] = _durations(out["restart_policy"], ("delay", "window"), "restart_policy")
    for key in ("update_config", "rollback_config"):
        if key in out:
            out[key] = _durations(out[key], ("delay", "monitor"), key)
    return out


def blkio(value: Any, ctx: Context) -> Any:
    out = dict(value or {})
    for key in ("device_read_bps", "device_write_bps"):
        if isinstance(out.get(key), list):
            out[key] = [
                {**d, "rate": size(d.get("rate"), ctx)} if isinstance(d, dict) else d for d in out[key]
            ]
    return out


def gpus(value: Any, ctx: Context) -> Any:
    """``gpus: all`` is a device request for every GPU (``count: -1``)."""
    return [{"count": -1}] if value == "all" else value


def omit_false(value: Any, ctx: Context) -> Any:
    return None if value is False or value == "false" else value


def logging(value: Any, ctx: Context) -> Any:
    out = dict(value or {})
    if isinstance(out.get("options"), dict):
        out["options"] = to_mapping(out["options"])
    return out


def duration(value: Any, ctx: Context) -> Any:
    return value if value is None else normalize_duration(value)


def stringified_list(value: Any, ctx: Context) -> Any:
    return [_str(v) for v in value] if isinstance(value, list) else value


def models(value: Any, ctx: Context) -> Any:
    return {name: None for name in value} if isinstance(value, list) else value


TRANSFORMS: dict[str, Transform] = {
    "annotations": labels,
    "blkio_config": blkio,
    "build": build,
    "command": shell_split,
    "configs": file_mounts(""),
    "depends_on": depends_on,
    "deploy": deploy,
    "develop": develop,
    "devices": devices,
    "dns": string_or_list,
    "dns_search": string_or_list,
    "entrypoint": shell_split,
    "expose": stringified_list,
    "gpus": gpus,
    "group_add": stringified_list,
    "mem_limit": size,
    "mem_reservation": size,
    "memswap_limit": size,
    "oom_kill_disable": omit_false,
    "privileged": omit_false,
    "read_only": omit_false,
    "shm_size": size,
    "stdin_open": omit_false,
    "tty": omit_false,
    "extra_hosts": extra_hosts,
    "healthcheck": healthcheck,
    "labels": labels,
    "logging": logging,
    "models": models,
    "networks": networks,
    "ports": ports,
    "post_start": hooks,
    "pre_stop": hooks,
    "provider": provider,
    "secrets": file_mounts("/run/secrets"),
    "stop_grace_period": duration,
    "sysctls": lambda v, c: to_mapping(v),
    "tmpfs": string_or_list,
    "volumes": volumes,
}
