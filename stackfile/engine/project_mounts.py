"""A service's ``volumes:`` and ``tmpfs:`` as runtime mounts, and its named volumes' creation.

Named volumes live under ``StorePaths.volume(name)/_data`` (the volume manager's layout); binds are
resolved against the project directory and created when missing, as Compose's short syntax does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stackfile.errors import InvalidSpec, Location
from stackfile.reconcile.desired import volume_name
from stackfile.runtime.api import Mount
from stackfile.spec.model import parse_size
from stackfile.store.paths import StorePaths

__all__ = ["service_mounts"]


def _bind(entry: Any, working_dir: str) -> Mount:
    source = Path(entry.source or "")
    if not source.is_absolute():
        source = Path(working_dir or ".") / source
    create = entry.bind.create_host_path if entry.bind is not None else None
    if not source.exists() and create is not False:
        source.mkdir(parents=True, exist_ok=True)
    propagation = (entry.bind.propagation if entry.bind is not None else None) or ""
    return Mount(type="bind", source=str(source), target=entry.target, read_only=entry.read_only,
                 propagation=propagation)


def _tmpfs(target: str, entry: Any = None) -> Mount:
    opts = entry.tmpfs if entry is not None else None
    size = parse_size(opts.size) if opts is not None and opts.size not in (None, "") else None
    mode = int(str(opts.mode), 8) if opts is not None and opts.mode not in (None, "") else None
    return Mount(type="tmpfs", target=target, read_only=bool(entry and entry.read_only),
                 tmpfs_size=size, tmpfs_mode=mode)


def service_mounts(paths: StorePaths, stack: Any, service: Any, working_dir: str,
                   container_name: str) -> list[Mount]:
    """Runtime mounts for the service's volumes (binds, named, anonymous, tmpfs) and tmpfs entries."""
    mounts: list[Mount] = []
    for i, entry in enumerate(service.volumes):
        if entry.type == "bind":
            mounts.append(_bind(entry, working_dir))
        elif entry.type == "tmpfs":
            mounts.append(_tmpfs(entry.target, entry))
        elif entry.type == "volume":
            name = volume_name(stack, entry.source) if entry.source else f"{container_name}-anon-{i}"
            data = paths.volume(name) / "_data"
            data.mkdir(parents=True, exist_ok=True)
            mounts.append(Mount(type="volume", source=str(data), target=entry.target,
                                read_only=entry.read_only))
        else:
            raise InvalidSpec(f"volume type {entry.type!r} is not supported",
                              location=Location(key_path=f"services.{service.name}.volumes[{i}]"),
                              hint="use bind, volume or tmpfs")
    for target in service.tmpfs:
        path, _, _opts = str(target).partition(":")
        mounts.append(_tmpfs(path))
    return mounts
