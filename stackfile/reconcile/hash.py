"""The config hash of a service: what must not change for a container to be kept.

Like docker compose's ``hash.go``, fields that do not change the container (scale, replicas,
depends_on, build, profiles, develop, pull_policy) are blanked before hashing. Besides the one
hash we keep a per-field digest map (one level deep for mappings, so ``environment.FOO``), stamped
as a label, so the planner can say *which* field changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from stackfile.digest import canonical_json, digest_bytes

__all__ = [
    "IGNORED_FIELDS",
    "changed_fields",
    "config_fields",
    "config_hash",
    "decode_fields",
    "encode_fields",
    "plain",
]

IGNORED_FIELDS = frozenset({"build", "depends_on", "develop", "profiles", "pull_policy", "scale"})


def plain(value: Any) -> Any:
    """A model or mapping as plain JSON data with ``None`` values dropped (one normal form)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json", by_alias=True)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _prune(value: Any) -> Any:
    """Drop empty mappings and lists, recursively: an absent field and an empty one hash alike."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _short(value: Any) -> str:
    return digest_bytes(canonical_json(value))[7:19]


def config_fields(service: Any) -> dict[str, str]:
    """``{field path: short digest}`` of the hashed part of a service's canonical config."""
    config = plain(service)
    deploy = config.get("deploy")
    if isinstance(deploy, dict):
        deploy = {k: v for k, v in deploy.items() if k != "replicas"}
        config["deploy"] = deploy
    config = _prune(config)
    fields: dict[str, str] = {}
    for key in sorted(config):
        value = config[key]
        if key in IGNORED_FIELDS or key.startswith("x-") or value is None:
            continue
        if isinstance(value, dict) and value:
            for sub in sorted(value):
                fields[f"{key}.{sub}"] = _short(value[sub])
        else:
            fields[key] = _short(value)
    return fields


def config_hash(fields: Mapping[str, str]) -> str:
    """The one hash (64 hex) over a field map; equal hashes mean nothing relevant changed."""
    return digest_bytes(canonical_json(dict(fields)))[7:]


def encode_fields(fields: Mapping[str, str]) -> str:
    """The label form of a field map."""
    return canonical_json(dict(fields)).decode()


def decode_fields(text: str | None) -> dict[str, str]:
    """Parse a field-map label; an unreadable one gives an empty map."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def changed_fields(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Sorted field paths whose digest differs (added and removed fields included)."""
    return sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
