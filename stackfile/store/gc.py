"""Garbage collection: remove layers and blobs nothing refers to, and debris of killed writers.

Roots: every image's layers and config blob, the layers listed in any container's
``containers/<id>/config.json`` (read defensively: ``layers`` or ``spec.layers``, absolute paths
under ``layers/``), and the ``keep`` set the caller passes (the build cache's layers). Runs under
the exclusive store lock, so no build or import is between "made a layer" and "recorded it".
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass

from stackfile.store import lock
from stackfile.store.blobs import BlobStore
from stackfile.store.images import ImageStore
from stackfile.store.layers import LayerStore, dir_size, remove_tree
from stackfile.store.paths import StorePaths

__all__ = ["GcReport", "collect", "container_layers", "dir_size"]

# tmp/ entries the image store and builder make; anything else in tmp/ belongs to someone else
OWN_TMP_PREFIXES = ("layer-", "busybox-", "host-", "debootstrap-", "import-", "copy-", "workdir-",
                    "run-", "rm-", "load-", "save-", "pull-")


@dataclass(frozen=True)
class GcReport:
    layers: tuple[str, ...]
    blobs: tuple[str, ...]
    debris: int
    bytes_freed: int


def container_layers(paths: StorePaths) -> set[str]:
    """Layer ids that containers' config.json files list (a missing or odd file is skipped)."""
    out: set[str] = set()
    root = paths.containers
    if not root.is_dir():
        return out
    layers_dir = str(paths.layers)
    for entry in os.listdir(root):
        try:
            doc = json.loads((root / entry / "config.json").read_text())
        except (OSError, ValueError):
            continue
        spec = doc.get("spec") if isinstance(doc, dict) else None
        listed = (doc.get("layers") if isinstance(doc, dict) else None) or \
            (spec.get("layers") if isinstance(spec, dict) else None) or ()
        for path in listed:
            if isinstance(path, str) and os.path.dirname(path.rstrip("/")) == layers_dir:
                out.add(os.path.basename(path.rstrip("/")))
    return out


def collect(paths: StorePaths, keep: set[str] | frozenset[str] = frozenset(), *,
            dry_run: bool = False) -> GcReport:
    """Remove unreferenced layers, blobs and writer debris; returns what went."""
    if not paths.db.exists():
        return GcReport((), (), 0, 0)
    with lock.exclusive(paths):
        images = ImageStore(paths)
        layers = LayerStore(paths)
        live = images.referenced_layers() | container_layers(paths) | set(keep)
        dead_layers = sorted(set(layers.list()) - live)
        on_disk = set(os.listdir(paths.layers)) if paths.layers.is_dir() else set()
        orphans = sorted(on_disk - set(layers.list()) - live)
        live_blobs = {img.id for img in images.all()}
        dead_blobs = sorted(b for b in BlobStore(paths).list() if b not in live_blobs)
        freed = sum(dir_size(paths.layer(lid)) for lid in dead_layers + orphans)
        freed += sum(paths.blob(b).stat().st_size for b in dead_blobs)
        if dry_run:
            return GcReport(tuple(dead_layers + orphans), tuple(dead_blobs), 0, freed)
        for lid in dead_layers:
            layers.delete(lid)
        for lid in orphans:
            remove_tree(paths, paths.layer(lid))
        for blob in dead_blobs:
            BlobStore(paths).delete(blob)
        debris = _clear_debris(paths)
    return GcReport(tuple(dead_layers + orphans), tuple(dead_blobs), debris, freed)


def _clear_debris(paths: StorePaths) -> int:
    count = 0
    for directory, prefixes in ((paths.ingest, ("",)), (paths.tmp, OWN_TMP_PREFIXES)):
        if not directory.is_dir():
            continue
        for name in os.listdir(directory):
            if name.startswith(prefixes):
                path = directory / name
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                count += 1
    return count
