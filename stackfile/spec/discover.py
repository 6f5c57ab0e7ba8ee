"""Find the project's files, directory, name and interpolation environment (before any parsing).

Compose's rules: ``-f`` (repeatable, ``-`` is stdin) or the first of ``compose.yaml``,
``compose.yml``, ``docker-compose.yaml``, ``docker-compose.yml``, ``stack.yaml`` found in the
working directory or its parents, plus its ``*.override.*`` sibling; the project directory is
``--project-directory`` or the first file's directory; ``.env`` there (or ``--env-file``) under
the process environment; the name from ``-p``, ``COMPOSE_PROJECT_NAME``, ``name:``, or the
directory, normalised to ``[a-z0-9_-]``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackfile.errors import InvalidSpec, NotFound
from stackfile.spec._lazyre import LazyPattern

__all__ = ["CANDIDATES", "find_files", "load_environment", "normalize_name", "project_dir", "valid_name"]

CANDIDATES = (
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
    "stack.yaml",
    "stack.yml",
    "stack.yaml.j2",
    "compose.yaml.j2",
)
_NAME_OK: Any = LazyPattern(r"^[a-z0-9][a-z0-9_-]*$")


def _override_of(path: Path) -> Path | None:
    stem, dot, ext = path.name.partition(".")
    for candidate in (path.with_name(f"{stem}.override.{ext}"),):
        if dot and candidate.is_file():
            return candidate
    return None


def find_files(files: list[str], cwd: str) -> list[str]:
    """Resolve ``-f`` values (absolute paths; ``-`` kept) or discover the default file(s)."""
    if files:
        out = []
        for f in files:
            if f == "-":
                out.append(f)
                continue
            path = Path(cwd, f)
            if not path.is_file():
                raise NotFound(f"stack file {f} not found", hint="check the -f path")
            out.append(os.path.abspath(path))
        return out
    directory = Path(cwd).resolve()
    for folder in (directory, *directory.parents):
        for name in CANDIDATES:
            path = folder / name
            if path.is_file():
                override = _override_of(path)
                return [str(path)] + ([str(override)] if override else [])
    raise NotFound(
        "no stack file found in this directory or its parents",
        hint="create compose.yaml or stack.yaml, or pass -f FILE",
    )


def project_dir(files: list[str], project_directory: str | None, cwd: str) -> str:
    if project_directory:
        return os.path.abspath(os.path.join(cwd, project_directory))
    first = next((f for f in files if f != "-"), None)
    return os.path.dirname(first) if first else os.path.abspath(cwd)


def load_environment(
    env_files: list[str], workdir: str, cwd: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """``.env`` (or the ``--env-file`` list, later wins) under the process environment."""
    from stackfile.spec.dotenv import read_dotenv

    values: dict[str, str] = {}
    paths = [Path(cwd, f) for f in env_files] if env_files else [Path(workdir, ".env")]
    for path in paths:
        if not env_files and not path.is_file():
            continue
        if path.is_dir():
            continue
        if not path.exists():
            raise NotFound(f"env file {path} not found", hint="check the --env-file path")
        values.update(read_dotenv(path, lambda k: environ.get(k, values.get(k))))
    return {**values, **environ}


def normalize_name(name: str) -> str:
    """Lower-case and drop characters outside ``[a-z0-9_-]`` (Compose's normalisation)."""
    return re.sub(r"[^a-z0-9_-]", "", name.lower())


def valid_name(name: str, source: str) -> str:
    if not _NAME_OK.match(name):
        raise InvalidSpec(
            f"invalid project name {name!r} (from {source})",
            hint="use lowercase letters, digits, '-' and '_', starting with a letter or digit",
        )
    return name
