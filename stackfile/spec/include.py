"""``include:``: load other projects (own directory and env files) and import their resources."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from stackfile.errors import InvalidSpec, Location
from stackfile.spec.tags import Override, Reset

__all__ = ["IMPORTED", "IncludeSpec", "import_resources", "include_specs"]

IMPORTED = ("services", "volumes", "networks", "secrets", "configs", "models")


class IncludeSpec:
    """One ``include`` entry with paths made absolute."""

    def __init__(self, files: list[str], project_directory: str, env_files: list[str] | None) -> None:
        self.files = files
        self.project_directory = project_directory
        self.env_files = env_files


def include_specs(doc: dict[str, Any], base: str, abspath: Callable[[str, str], str]) -> list[IncludeSpec]:
    """Parse the ``include`` section (string or ``{path, project_directory, env_file}`` items)."""
    out = []
    raw = doc.get("include")
    raw = None if isinstance(raw, Reset) else raw.value if isinstance(raw, Override) else raw
    if raw is not None and not isinstance(raw, list | str):
        raise InvalidSpec(
            f"include must be a list, not {type(raw).__name__}",
            location=Location(key_path="include"),
            hint="write include: [other.yaml] or include: [{path: other.yaml}]",
        )
    for i, item in enumerate([raw] if isinstance(raw, str) else raw or []):
        entry = {"path": item} if isinstance(item, str) else item
        if not isinstance(entry, dict) or not entry.get("path"):
            raise InvalidSpec(
                "include entries need a path",
                location=Location(key_path=f"include[{i}]"),
                hint="write include: [other.yaml] or include: [{path: other.yaml}]",
            )
        paths = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
        files = [abspath(str(p), base) for p in paths]
        project_dir = entry.get("project_directory")
        directory = abspath(str(project_dir), base) if project_dir else os.path.dirname(files[0])
        env = entry.get("env_file")
        env_files = (
            None
            if env is None
            else [abspath(str(e), base) for e in (env if isinstance(env, list) else [env])]
        )
        out.append(IncludeSpec(files, directory, env_files))
    return out


def import_resources(target: dict[str, Any], source: dict[str, Any], where: str) -> dict[str, Any]:
    """Add ``source``'s resources to ``target``; a different definition of the same name is an error."""
    out = dict(target)
    for kind in IMPORTED:
        incoming = source.get(kind)
        if not isinstance(incoming, dict):
            continue
        section = dict(out.get(kind) or {})
        for key, value in incoming.items():
            if key in section and section[key] != value:
                raise InvalidSpec(
                    f"{kind}.{key} conflicts with imported resource from {where}",
                    location=Location(key_path=f"{kind}.{key}"),
                    hint="rename one of them or remove the duplicate definition",
                )
            section[key] = value
        out[kind] = section
    return out
