"""Named volumes: records against their directories, and the containers recorded as using them."""

from __future__ import annotations

import os
import shutil
from functools import partial

from stackfile.engine.check import Finding
from stackfile.store.owner import alive, owner_of
from stackfile.store.paths import StorePaths

__all__ = ["check"]


def check(paths: StorePaths) -> list[Finding]:
    """Findings of the volumes recorded in the store and of the directories under ``volumes/``."""
    if not paths.db.exists():
        return []
    from stackfile.engine.check.containers import container_dirs
    from stackfile.volumes import VolumeManager

    vm = VolumeManager(paths)
    records = {v.name: v for v in vm.list_volumes()}
    containers = {str(c.get("name")) for c in container_dirs(paths).values() if c is not None}
    out = []
    for name, rec in sorted(records.items()):
        if not vm.data_dir(name).is_dir():
            out.append(
                Finding(
                    "volumes",
                    name,
                    "its data directory is missing",
                    "make it again, empty",
                    partial(vm.data_dir(name).mkdir, parents=True, mode=0o755),
                )
            )
        for stale in sorted(vm.data_dir(name).parent.glob(".fill-*")):
            owner = owner_of(stale.name[1:])
            if owner is None or not alive(owner):
                out.append(Finding("volumes", name, f"{stale.name}: a fill from its image that was "
                                   "interrupted", "delete it", partial(shutil.rmtree, stale)))
        for user in rec.users:
            if user not in containers:
                out.append(
                    Finding(
                        "volumes",
                        name,
                        f"recorded as used by {user}, which does not exist",
                        "forget that use",
                        partial(vm.release, user, remove_anonymous=False),
                    )
                )
    for name in sorted(os.listdir(paths.volumes)) if paths.volumes.is_dir() else []:
        if name not in records:
            out.append(
                Finding(
                    "volumes",
                    name,
                    "a directory no volume records (an interrupted create or removal)",
                    "record it as a volume (remove it with 'stackfile volume rm')",
                    partial(vm.create, name),
                )
            )
    return out
