"""Make every relative path of one file absolute against its base directory.

Runs per file, before merging, so that ``extends``/``include`` of files in other directories
keep pointing where their author meant. Only paths the spec defines as host paths are touched.
"""

from __future__ import annotations

from typing import Any

from stackfile.spec.context import Context
from stackfile.spec.volumes import is_file_path, is_windows_path, parse_volume

__all__ = ["is_remote", "resolve_paths"]


def is_remote(context: str) -> bool:
    """Build contexts that are URLs or references, not directories."""
    return "://" in context or context.startswith(("git@", "github.com/", "service:", "docker-image:"))


def _abs(value: Any, ctx: Context, base: str) -> Any:
    return ctx.abspath(value, base) if isinstance(value, str) and value else value


def _build(build: Any, ctx: Context, base: str, default_context: bool) -> Any:
    out = {"context": build} if isinstance(build, str) else dict(build or {})
    if default_context:
        out.setdefault("context", ".")
    context = out.get("context")
    if isinstance(context, str) and context and not is_remote(context):
        out["context"] = _abs(context, ctx, base)
    extra = out.get("additional_contexts")
    if isinstance(extra, dict):
        out["additional_contexts"] = {
            k: v if not isinstance(v, str) or is_remote(v) else _abs(v, ctx, base) for k, v in extra.items()
        }
    return out


def _volume(item: Any, ctx: Context, base: str) -> Any:
    if isinstance(item, str):
        try:
            parsed = parse_volume(item)
        except ValueError:
            return item
        if parsed["type"] != "bind" or not is_file_path(parsed.get("source", "")):
            return item
        item = parsed
    source = item.get("source") if isinstance(item, dict) else None
    if item.get("type") == "bind" and isinstance(source, str) and source and not is_windows_path(source):
        return {**item, "source": ctx.abspath(source, base)}
    return item


def _env_files(value: Any, ctx: Context, base: str) -> Any:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        return value
    return [
        _abs(i, ctx, base)
        if isinstance(i, str)
        else {**i, "path": _abs(i.get("path"), ctx, base)}
        if isinstance(i, dict)
        else i
        for i in items
    ]


def _service(svc: dict[str, Any], ctx: Context, base: str, default_context: bool) -> dict[str, Any]:
    out = dict(svc)
    if "build" in out and out["build"] is not None:
        out["build"] = _build(out["build"], ctx, base, default_context)
    if isinstance(out.get("volumes"), list):
        out["volumes"] = [_volume(v, ctx, base) for v in out["volumes"]]
    for key in ("env_file", "label_file"):
        if key in out:
            out[key] = _env_files(out[key], ctx, base)
    ext = out.get("extends")
    if isinstance(ext, dict) and isinstance(ext.get("file"), str):
        out["extends"] = {**ext, "file": _abs(ext["file"], ctx, base)}
    watch = (out.get("develop") or {}).get("watch") if isinstance(out.get("develop"), dict) else None
    if isinstance(watch, list):
        out["develop"] = {
            **out["develop"],
            "watch": [
                {**w, "path": _abs(w.get("path"), ctx, base)} if isinstance(w, dict) else w for w in watch
            ],
        }
    return out


def resolve_paths(
    doc: dict[str, Any], ctx: Context, base: str, *, default_context: bool = False
) -> dict[str, Any]:
    """Return ``doc`` with services' and resources' host paths made absolute against ``base``.

    ``default_context`` also pins a missing ``build.context`` to ``base`` (for included and
    extended files; in override files a missing context must not replace the base file's).
    """
    out = dict(doc)
    services = out.get("services")
    if isinstance(services, dict):
        out["services"] = {
            n: _service(s, ctx, base, default_context) if isinstance(s, dict) else s
            for n, s in services.items()
        }
    for kind in ("secrets", "configs"):
        section = out.get(kind)
        if isinstance(section, dict):
            out[kind] = {
                k: {**v, "file": _abs(v["file"], ctx, base)} if isinstance(v, dict) and "file" in v else v
                for k, v in section.items()
            }
    return out
