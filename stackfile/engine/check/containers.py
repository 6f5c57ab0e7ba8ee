"""Containers: directories against their config and name, names against containers, the layers and
volumes they use. (Their processes, mounts and cgroups are checked in :mod:`.host`.)"""

from __future__ import annotations

import json
import os
import time
from functools import partial
from pathlib import Path

from stackfile.build.sweep import interrupted
from stackfile.engine.check import Finding
from stackfile.runtime.linux.create import REMOVING_PREFIX, delete_tree
from stackfile.store.paths import StorePaths

__all__ = ["check", "container_dirs"]

NAMES = ".names"
YOUNG_SECONDS = 60.0  # a container directory younger than this may be a create in progress


def container_dirs(paths: StorePaths) -> dict[str, dict[str, object] | None]:
    """Every ``containers/<id>`` with its parsed config.json (None when it has none, or a bad one)."""
    root = paths.containers
    out: dict[str, dict[str, object] | None] = {}
    for cid in sorted(os.listdir(root)) if root.is_dir() else []:
        if cid.startswith("."):
            continue
        try:
            doc = json.loads((root / cid / "config.json").read_text())
        except (OSError, ValueError):
            doc = None
        out[cid] = doc if isinstance(doc, dict) else None
    return out


def _runtime(paths: StorePaths) -> object:
    from stackfile.runtime import get_runtime  # type: ignore[attr-defined,unused-ignore]

    return get_runtime(paths)


def _remove_incomplete(paths: StorePaths, cid: str) -> None:
    from stackfile.runtime.linux import cgroups
    from stackfile.runtime.linux.create import remove_dirs
    from stackfile.runtime.linux.state import ContainerDir

    cg = cgroups.for_container(cid)
    cg.kill_all()
    cg.remove(timeout=5.0)
    remove_dirs(paths, ContainerDir(paths.container_str(cid)))


def _remove(paths: StorePaths, cid: str) -> None:
    _runtime(paths).remove(cid, force=True)  # type: ignore[attr-defined]


def _young(paths: StorePaths, cid: str) -> bool:
    try:
        return time.time() - (paths.containers / cid).stat().st_mtime < YOUNG_SECONDS
    except OSError:
        return False


def _state(paths: StorePaths, cid: str) -> str:
    try:
        return str(_runtime(paths).inspect(cid).state.value)  # type: ignore[attr-defined]
    except (OSError, ValueError, KeyError):
        return "dead"


def check(paths: StorePaths) -> list[Finding]:
    """Findings of the runtime's container directories and names."""
    dirs = container_dirs(paths)
    names_dir = paths.containers / NAMES
    names: dict[str, str] = {}
    for name in sorted(os.listdir(names_dir)) if names_dir.is_dir() else []:
        if not name.startswith("."):
            try:
                names[name] = os.readlink(names_dir / name)
            except OSError:
                continue
    out = []
    for name, cid in names.items():
        if dirs.get(cid) is None:
            out.append(
                Finding(
                    "containers",
                    name,
                    "a name held for a container that does not exist",
                    "release the name",
                    (names_dir / name).unlink,
                )
            )
    for leftover in sorted(os.listdir(paths.containers)) if paths.containers.is_dir() else []:
        if leftover.startswith(REMOVING_PREFIX):
            out.append(Finding("containers", leftover[len(REMOVING_PREFIX):][:12],
                               "the rest of a container whose removal was interrupted", "delete it",
                               partial(delete_tree, str(paths.containers / leftover))))
    layers_dir = str(paths.layers)
    for cid, config in dirs.items():
        if (config is None or names.get(str(config.get("name", ""))) != cid) and _young(paths, cid):
            continue  # a create in progress (config and name come last): not ours to judge yet
        if config is None:
            out.append(
                Finding(
                    "containers",
                    cid[:12],
                    "an incomplete container (no config.json: an interrupted create or removal)",
                    "remove what is left",
                    partial(_remove_incomplete, paths, cid),
                )
            )
            continue
        name = str(config.get("name", ""))
        if names.get(name) != cid:
            out.append(
                Finding(
                    "containers",
                    name or cid[:12],
                    "its name is not reserved for it (an interrupted create)",
                    "remove it",
                    partial(_remove, paths, cid),
                )
            )
            continue
        spec = config.get("spec")
        labels = spec.get("labels") if isinstance(spec, dict) else None
        if isinstance(labels, dict) and interrupted(labels, _state(paths, cid)):
            out.append(
                Finding(
                    "containers",
                    name,
                    "a RUN step's container left by a build that was killed",
                    "remove it (and stop its command)",
                    partial(_remove, paths, cid),
                )
            )
            continue
        layers = spec.get("layers", ()) if isinstance(spec, dict) else ()
        for layer in layers:
            if str(layer).startswith(layers_dir) and not Path(str(layer)).is_dir():
                out.append(
                    Finding(
                        "containers",
                        name,
                        f"its image layer {Path(str(layer)).name[:12]} is missing",
                        hint="recreate it (stackfile up --force-recreate)",
                    )
                )
                break
    return out
