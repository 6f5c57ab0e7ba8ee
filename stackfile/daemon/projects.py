"""Uploaded projects: where the daemon keeps a client's resolved project, and the options the
engine's project use cases take for it.

``<root>/daemon/projects/<name>/`` holds ``stackfile.json`` (the client's ``config --format json``
with every path under the client's working directory moved under ``files/``) and ``files/`` (the
working directory's files the client sent). It survives the daemon, so a restarted daemon serves
``ps``, ``logs`` and ``down`` of the projects it ran before.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from stackfile.errors import InvalidSpec, Location, NotFound
from stackfile.store.paths import StorePaths

__all__ = ["options", "save"]

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,127}$")  # a file name, well under NAME_MAX


def _dir(paths: StorePaths, name: str) -> Path:
    if not NAME.match(name):
        raise InvalidSpec(f"invalid project name {name!r}", location=Location(key_path="name"),
                          hint="up to 128 lower-case letters, digits, '-' and '_', starting with a letter "
                               "or digit")
    return paths.root / "daemon" / "projects" / name


def _moved(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        if value == old or value.startswith(old + "/"):
            return new + value[len(old):]
        return value
    if isinstance(value, dict):
        return {k: _moved(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, old, new) for v in value]
    return value


def save(paths: StorePaths, name: str, config: dict[str, Any], working_dir: str,
         files_tar_gz_b64: str) -> None:
    """Store an uploaded project: its config replaces the last one; its files (when sent) are
    written over ``files/`` in place, because running containers bind-mount directories in it.
    A tar with any member that would land outside ``files/`` is refused before anything is written."""
    where = _dir(paths, name)
    if config.get("name", name) != name:
        raise InvalidSpec(f"the config names project {config.get('name')!r}, the path {name!r}",
                          location=Location(key_path="config.name"))
    files = where / "files"
    if files_tar_gz_b64:
        try:
            raw = base64.b64decode(files_tar_gz_b64, validate=True)
            with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
                members = tar.getmembers()
                for member in members:  # no absolute paths, no '..', no devices, no links out
                    tarfile.data_filter(member, str(files))
                files.mkdir(parents=True, exist_ok=True)
                tar.extractall(files, members=members, filter="data")
        except (ValueError, tarfile.TarError) as exc:
            raise InvalidSpec(f"the project's files are not a gzipped tar of relative paths: {exc}",
                              location=Location(key_path="files_tar_gz_b64")) from None
    files.mkdir(parents=True, exist_ok=True)
    moved = _moved({**config, "name": name}, working_dir.rstrip("/") or "/", str(files))
    temp = where / ".stackfile.json.new"
    temp.write_text(json.dumps(moved, indent=1))
    os.replace(temp, where / "stackfile.json")


def options(paths: StorePaths, name: str) -> SimpleNamespace:
    """The global options the engine's project use cases take, for an uploaded project."""
    where = _dir(paths, name)
    if not (where / "stackfile.json").exists():
        raise NotFound(f"no project {name!r} was uploaded to this daemon", location=Location(key_path="name"),
                       hint="PUT /v1/projects/{name} first (the remote CLI does that before every command)")
    return SimpleNamespace(files=[str(where / "stackfile.json")], project_name=name,
                           project_directory=str(where / "files"), env_files=[], profiles=[],
                           environment_name=None, template_vars={}, root=paths.root_str, environ={},
                           json_output=False)
