"""Clear what killed builds left behind before a build runs a step: scratch directories in
``tmp/`` and unfinished blobs in ``ingest/`` whose process is gone, and build containers whose
builder is gone (their command may still run). Live builds' work is told apart by its owner token
(:mod:`stackfile.store.owner`)."""

from __future__ import annotations

import os
import shutil

from stackfile.store.gc import OWN_TMP_PREFIXES
from stackfile.store.owner import alive, owner_of
from stackfile.store.paths import StorePaths

__all__ = ["BUILD_LABEL", "OWNER_LABEL", "interrupted", "leftovers", "sweep"]

BUILD_LABEL = "stackfile.build"
OWNER_LABEL = "stackfile.build.owner"


def leftovers(paths: StorePaths) -> list[str]:
    """Paths in ``tmp/`` and ``ingest/`` made by a process that is gone."""
    out = []
    for directory, prefixes in ((str(paths.ingest), ("",)), (str(paths.tmp), OWN_TMP_PREFIXES)):
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            continue
        for name in names:
            owner = owner_of(name)
            if name.startswith(prefixes) and owner is not None and not alive(owner):
                out.append(os.path.join(directory, name))
    return sorted(out)


def interrupted(labels: dict[str, str], state: str) -> bool:
    """A build container whose builder is gone (older ones without an owner: when dead)."""
    if labels.get(BUILD_LABEL) != "1":
        return False
    owner = labels.get(OWNER_LABEL)
    return not alive(owner) if owner else state == "dead"


def sweep(paths: StorePaths, runtime: object) -> None:
    """Remove the leftovers of killed builds (best effort: what fails stays for ``system check``)."""
    for path in leftovers(paths):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                continue
    for status in runtime.list(all=True, labels={BUILD_LABEL: "1"}):  # type: ignore[attr-defined]
        if interrupted(dict(status.labels), status.state.value):
            try:
                runtime.remove(status.id, force=True)  # type: ignore[attr-defined]
            except (OSError, Exception):
                continue
