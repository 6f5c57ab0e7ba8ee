"""``stackfile init``: write a new project from a packaged Jinja2 project template.

A template is a directory under ``stackfile/templates/<name>/`` with a ``template.json``
(``{"description": ..., "variables": {name: default}}``). Every other file is copied to the target
directory; files ending in ``.j2`` are rendered (sandboxed, undefined variables are errors) and lose
the suffix. Nothing is overwritten unless ``force``; nothing is written outside the target.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackfile.errors import Conflict, InvalidSpec, NotFound

__all__ = ["TEMPLATES", "TemplateInfo", "init_project", "list_templates"]

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DEFAULT = "static-site"


@dataclass(frozen=True)
class TemplateInfo:
    """A template's name, description and variables with their defaults."""

    name: str
    description: str
    variables: dict[str, str]


def _info(directory: Path) -> TemplateInfo:
    data: dict[str, Any] = json.loads((directory / "template.json").read_text())
    return TemplateInfo(directory.name, str(data.get("description", "")),
                        {str(k): str(v) for k, v in (data.get("variables") or {}).items()})


def list_templates() -> list[TemplateInfo]:
    """The packaged templates, by name."""
    return [_info(d) for d in sorted(TEMPLATES.iterdir()) if (d / "template.json").is_file()]


def _project_name(target: Path) -> str:
    return re.sub(r"[^a-z0-9_-]", "", target.resolve().name.lower()) or "app"


def _render(text: str, source: Path, context: dict[str, Any]) -> str:
    import jinja2
    import jinja2.sandbox

    env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                              autoescape=False)
    try:
        return env.from_string(text).render(**context)
    except jinja2.TemplateError as exc:
        raise InvalidSpec(f"template {source.parent.name}/{source.name}: {exc}",
                          hint="pass the missing variable with --set NAME=VALUE") from None


def init_project(target: Path, template: str = DEFAULT, variables: dict[str, str] | None = None, *,
                 force: bool = False) -> list[Path]:
    """Write ``template`` into ``target`` (created if missing); returns the files written."""
    source = TEMPLATES / template
    if "/" in template or not (source / "template.json").is_file():
        names = ", ".join(t.name for t in list_templates())
        raise NotFound(f"no such template: {template}", hint=f"templates: {names}")
    info = _info(source)
    context: dict[str, Any] = {**info.variables, "project_name": _project_name(target), **(variables or {})}
    plan: list[tuple[Path, Path]] = []
    for src in sorted(p for p in source.rglob("*") if p.is_file() and p.name != "template.json"):
        rel = src.relative_to(source)
        dest = target / (rel.with_suffix("") if rel.suffix == ".j2" else rel)
        plan.append((src, dest))
    clashes = [str(d) for _, d in plan if d.exists()]
    if clashes and not force:
        raise Conflict(f"{len(clashes)} file(s) already exist in {target}", detail="\n".join(clashes),
                       hint="use another directory, or --force to overwrite")
    written = []
    for src, dest in plan:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix == ".j2":
            dest.write_text(_render(src.read_text(), src, context))
        else:
            dest.write_bytes(src.read_bytes())
        dest.chmod(src.stat().st_mode & 0o777)
        written.append(dest)
    return written
