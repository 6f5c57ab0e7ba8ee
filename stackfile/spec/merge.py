"""Merge Compose documents (later files override earlier ones) with per-field rules.

Rules live in two tables keyed by wildcard paths, like compose-go's ``override`` package:
``MERGERS`` says how two values at a path combine (default: mappings merge key by key, lists
append, scalars are replaced) and ``UNIQUE`` says how a merged list drops redefinitions (the
later entry replaces the earlier one in place).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stackfile.spec.tags import Override, Reset

__all__ = ["MERGERS", "UNIQUE", "enforce_unicity", "matches", "merge", "merge_all"]

Path = tuple[str, ...]
Merger = Callable[[Any, Any, Path], Any]
Indexer = Callable[[Any], str]


def matches(path: Path, pattern: Path) -> bool:
    """True when ``path`` matches ``pattern`` (``*`` matches any one element)."""
    return len(path) == len(pattern) and all(p == "*" or p == k for k, p in zip(path, pattern, strict=True))


def _kv_string(key: str, value: Any) -> str:
    if value is None:
        return key
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"{key}={value}"


def to_sequence(value: Any) -> list[Any]:
    """Mapping ``{k: v}`` → ``["k=v"]`` (``k`` alone for null); lists pass; scalars become one item."""
    if isinstance(value, dict):
        return [_kv_string(k, v) for k, v in sorted(value.items())]
    if isinstance(value, list):
        return list(value)
    return [] if value is None else [value]


def _hosts_sequence(value: Any) -> list[Any]:
    if isinstance(value, dict):
        out: list[Any] = []
        for host, ips in sorted(value.items()):
            out.extend(f"{host}={ip}" for ip in (ips if isinstance(ips, list) else [ips]))
        return out
    return to_sequence(value)


def _to_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return {str(v): None for v in value}
    return {}


def merge_to_sequence(base: Any, over: Any, path: Path) -> Any:
    return to_sequence(base) + to_sequence(over)


def merge_extra_hosts(base: Any, over: Any, path: Path) -> Any:
    out: list[Any] = []
    for item in _hosts_sequence(base) + _hosts_sequence(over):
        if item not in out:
            out.append(item)
    return out


def override(base: Any, over: Any, path: Path) -> Any:
    return over


def merge_as_mapping(base: Any, over: Any, path: Path) -> Any:
    return merge_mappings(_to_mapping(base), _to_mapping(over), path)


def merge_build(base: Any, over: Any, path: Path) -> Any:
    def as_map(v: Any) -> dict[str, Any]:
        return {"context": v} if isinstance(v, str) else dict(v or {})

    return merge_mappings(as_map(base), as_map(over), path)


def merge_logging(base: Any, over: Any, path: Path) -> Any:
    if not isinstance(base, dict) or not isinstance(over, dict):
        return over
    if "driver" in base and "driver" in over and base["driver"] != over["driver"]:
        return over
    return merge_mappings(base, over, path)


def merge_ulimit(base: Any, over: Any, path: Path) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return merge_mappings(base, over, path)
    return over


def merge_ipam_config(base: Any, over: Any, path: Path) -> Any:
    out = list(base) if isinstance(base, list) else []
    for item in over if isinstance(over, list) else []:
        subnet = item.get("subnet") if isinstance(item, dict) else None
        idx = next(
            (i for i, b in enumerate(out) if isinstance(b, dict) and subnet and b.get("subnet") == subnet),
            None,
        )
        if idx is None:
            out.append(item)
        else:
            out[idx] = merge_mappings(out[idx], item, path)
    return out


MERGERS: dict[Path, Merger] = {
    tuple(k.split(".")): v
    for k, v in {
        "networks.*.ipam.config": merge_ipam_config,
        "networks.*.labels": merge_to_sequence,
        "volumes.*.labels": merge_to_sequence,
        "services.*.annotations": merge_to_sequence,
        "services.*.build": merge_build,
        "services.*.build.args": merge_to_sequence,
        "services.*.build.additional_contexts": merge_to_sequence,
        "services.*.build.extra_hosts": merge_extra_hosts,
        "services.*.build.labels": merge_to_sequence,
        "services.*.command": override,
        "services.*.depends_on": merge_as_mapping,
        "services.*.deploy.labels": merge_to_sequence,
        "services.*.dns": merge_to_sequence,
        "services.*.dns_opt": merge_to_sequence,
        "services.*.dns_search": merge_to_sequence,
        "services.*.entrypoint": override,
        "services.*.env_file": merge_to_sequence,
        "services.*.label_file": merge_to_sequence,
        "services.*.environment": merge_to_sequence,
        "services.*.extra_hosts": merge_extra_hosts,
        "services.*.healthcheck.test": override,
        "services.*.labels": merge_to_sequence,
        "services.*.volumes.*.volume.labels": merge_to_sequence,
        "services.*.logging": merge_logging,
        "services.*.models": merge_as_mapping,
        "services.*.networks": merge_as_mapping,
        "services.*.sysctls": merge_to_sequence,
        "services.*.tmpfs": merge_to_sequence,
        "services.*.ulimits.*": merge_ulimit,
    }.items()
}


def merge_mappings(base: dict[str, Any], over: dict[str, Any], path: Path) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Reset):
            out.pop(key, None)
        elif isinstance(value, Override) or key not in out or key.startswith("x-"):
            out[key] = value
        else:
            out[key] = merge(out[key], value, (*path, key))
    return out


def merge(base: Any, over: Any, path: Path = ()) -> Any:
    """Merge ``over`` into ``base`` at ``path`` and return the result (inputs are not modified)."""
    if isinstance(over, Override):
        return over.value
    if isinstance(over, Reset):
        return None
    if isinstance(base, Reset | Override):
        base = base.value
    for pattern, merger in MERGERS.items():
        if matches(path, pattern):
            return merger(base, over, path)
    if isinstance(base, dict) and isinstance(over, dict):
        return merge_mappings(base, over, path)
    if isinstance(base, list) and isinstance(over, list):
        return base + over
    return over


def merge_all(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge documents in order, then drop redefined list entries (:func:`enforce_unicity`)."""
    out: dict[str, Any] = {}
    for doc in docs:
        out = merge_mappings(out, doc, ())
    return enforce_unicity(out)


# ---------------------------------------------------------------- unicity
def key_value_indexer(item: Any) -> str:
    return str(item).split("=", 1)[0] if isinstance(item, str) else repr(item)


def exact_indexer(item: Any) -> str:
    return repr(item)


def volume_indexer(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("target", repr(item)))
    if isinstance(item, str):
        from stackfile.spec.volumes import parse_volume

        try:
            return str(parse_volume(item).get("target", item))
        except ValueError:
            return item
    return repr(item)


def str_indexer(item: Any) -> str:
    return str(item)


def device_indexer(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("target") or item.get("source"))
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def mount_indexer(default_dir: str) -> Indexer:
    def index(item: Any) -> str:
        if isinstance(item, str):
            return f"{default_dir}/{item}"
        if isinstance(item, dict):
            return str(item.get("target") or f"{default_dir}/{item.get('source')}")
        return repr(item)

    return index


def env_file_indexer(item: Any) -> str:
    return str(item.get("path")) if isinstance(item, dict) else str(item)


def port_indexer(item: Any) -> str:
    if isinstance(item, dict):
        return "{}:{}:{}/{}".format(
            item.get("host_ip", ""),
            item.get("published", ""),
            item.get("target"),
            item.get("protocol", "tcp"),
        )
    return str(item)


UNIQUE: dict[Path, Indexer] = {
    tuple(k.split(".")): v
    for k, v in {
        "networks.*.labels": key_value_indexer,
        "networks.*.ipam.options": key_value_indexer,
        "volumes.*.labels": key_value_indexer,
        "services.*.annotations": key_value_indexer,
        "services.*.build.args": key_value_indexer,
        "services.*.build.additional_contexts": key_value_indexer,
        "services.*.build.platforms": exact_indexer,
        "services.*.build.tags": exact_indexer,
        "services.*.build.labels": key_value_indexer,
        "services.*.cap_add": exact_indexer,
        "services.*.cap_drop": exact_indexer,
        "services.*.configs": mount_indexer(""),
        "services.*.deploy.labels": key_value_indexer,
        "services.*.devices": device_indexer,
        "services.*.dns": exact_indexer,
        "services.*.dns_opt": exact_indexer,
        "services.*.dns_search": exact_indexer,
        "services.*.environment": key_value_indexer,
        "services.*.env_file": env_file_indexer,
        "services.*.expose": str_indexer,
        "services.*.labels": key_value_indexer,
        "services.*.links": exact_indexer,
        "services.*.networks.*.aliases": exact_indexer,
        "services.*.networks.*.link_local_ips": exact_indexer,
        "services.*.ports": port_indexer,
        "services.*.profiles": exact_indexer,
        "services.*.secrets": mount_indexer("/run/secrets"),
        "services.*.sysctls": key_value_indexer,
        "services.*.tmpfs": exact_indexer,
        "services.*.volumes": volume_indexer,
    }.items()
}


def _unique_list(items: list[Any], index: Indexer) -> list[Any]:
    out: list[Any] = []
    seen: dict[str, int] = {}
    for item in items:
        key = index(item)
        if key in seen:
            out[seen[key]] = item
        else:
            seen[key] = len(out)
            out.append(item)
    return out


Trie = dict[Any, Any]  # path element (or "*") -> Trie; the key None holds a list's indexer


def _trie(patterns: dict[Path, Indexer]) -> Trie:
    root: Trie = {}
    for pattern, index in patterns.items():
        node = root
        for part in pattern:
            node = node.setdefault(part, {})
        node[None] = index
    return root


_UNIQUE_TRIE = _trie(UNIQUE)


def enforce_unicity(value: Any, path: Path = ()) -> Any:
    """Remove redefinitions from the lists named in ``UNIQUE`` (the later entry wins)."""
    return _unicity(
        value, _trie({p[len(path) :]: i for p, i in UNIQUE.items() if matches(path, p[: len(path)])})
    )


def _children(trie: Trie, key: str) -> Trie | None:
    exact, wild = trie.get(key), trie.get("*")
    if exact is None or wild is None:
        return exact if wild is None else wild
    return {**wild, **exact}  # both match (never the case in UNIQUE today)


def _unicity(value: Any, trie: Trie) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            sub = _children(trie, key)
            out[key] = _unicity(item, sub) if sub else item
        return out
    if isinstance(value, list) and None in trie:
        return _unique_list(value, trie[None])
    return value
