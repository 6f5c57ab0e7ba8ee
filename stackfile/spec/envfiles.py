"""Resolve ``env_file`` into ``environment`` (files first, explicit entries win)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stackfile.errors import InvalidSpec
from stackfile.spec.context import Context
from stackfile.spec.service_keys import to_mapping

__all__ = ["env_file_entries", "resolve_environment", "resolve_labels"]


def env_file_entries(value: Any) -> list[dict[str, Any]]:
    """``env_file`` in any syntax → ``[{path, required, format?}]``."""
    items = [value] if isinstance(value, str) else list(value or [])
    out = []
    for item in items:
        entry = {"path": item} if isinstance(item, str) else dict(item)
        entry.setdefault("required", True)
        out.append(entry)
    return out


def _read_raw(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value
    return out


def _read(entry: dict[str, Any], ctx: Context, base: str | None, env: dict[str, str]) -> dict[str, str]:
    path = Path(ctx.abspath(str(entry["path"]), base))
    if not path.exists():
        if entry.get("required", True):
            raise InvalidSpec(
                f"env file {path} not found",
                hint="create it, fix the path, or use {path: ..., required: false}",
            )
        return {}
    if entry.get("format") == "raw":
        return _read_raw(path)
    from stackfile.spec.dotenv import read_dotenv

    return read_dotenv(path, lambda k: env.get(k, ctx.environment.get(k)))


def resolve_environment(service: dict[str, Any], ctx: Context, base: str | None = None) -> dict[str, Any]:
    """Return the service's ``environment`` mapping with its env files folded in."""
    env: dict[str, Any] = {}
    for entry in env_file_entries(service.get("env_file")):
        env.update(_read(entry, ctx, base, env))
    for key, value in to_mapping(service.get("environment")).items():
        if value is None:
            value = ctx.environment.get(key)
        env[key] = value
    return env


def resolve_labels(service: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """The service's ``labels`` with its ``label_file`` entries folded in (explicit labels win)."""
    labels: dict[str, Any] = {}
    for entry in env_file_entries(service.get("label_file")):
        labels.update(_read(entry, ctx, None, {}))
    labels.update(to_mapping(service.get("labels"), empty=""))
    return labels
