"""The image store: blob digests, layer directories against their rows, images against layers."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stackfile.engine.check import Finding
from stackfile.store import lock
from stackfile.store.gc import OWN_TMP_PREFIXES, container_layers
from stackfile.store.layers import dir_size, now_rfc3339, remove_tree
from stackfile.store.owner import alive, owner_of
from stackfile.store.paths import StorePaths
from stackfile.store.schema import images_db

__all__ = ["check"]


def check(paths: StorePaths) -> list[Finding]:
    """Findings of the image store (under the store lock: no build or import is half done)."""
    if not paths.db.exists():
        return []
    with lock.exclusive(paths):
        return _blobs(paths) + _layers(paths) + _images(paths)


def _locked(paths: StorePaths, fn: Callable[..., Any], *args: Any) -> Callable[[], None]:
    """``fn(*args)`` under the store's exclusive lock (what garbage collection holds)."""

    def run() -> None:
        with lock.exclusive(paths):
            fn(*args)

    return run


def _gone(name: str) -> bool:
    """Scratch work whose process is gone (or that names none): not a build still running."""
    owner = owner_of(name)
    return owner is None or not alive(owner)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _rm(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _blobs(paths: StorePaths) -> list[Finding]:
    out = []
    for name in sorted(os.listdir(paths.blobs)) if paths.blobs.is_dir() else []:
        path = paths.blobs / name
        if _sha256(path) != f"sha256:{name}":
            out.append(
                Finding(
                    "blobs",
                    f"sha256:{name}",
                    "its content does not match its digest",
                    "delete it (an image that needs it is then reported)",
                    _locked(paths, _rm, path),
                )
            )
    for name in sorted(os.listdir(paths.ingest)) if paths.ingest.is_dir() else []:
        if not _gone(name):
            continue
        out.append(
            Finding(
                "blobs",
                f"ingest/{name}",
                "an unfinished write (an interrupted build, load or pull)",
                "delete it",
                _locked(paths, _rm, paths.ingest / name),
            )
        )
    return out


def _forget_layer(paths: StorePaths, layer_id: str) -> None:
    images_db(paths).execute("DELETE FROM layers WHERE id=?", (layer_id,))


def _record_layer(paths: StorePaths, layer_id: str) -> None:
    images_db(paths).execute(
        "INSERT INTO layers(id, diff_id, size, created, origin) VALUES(?,NULL,?,?,?) "
        "ON CONFLICT(id) DO NOTHING",
        (layer_id, dir_size(paths.layer(layer_id)), now_rfc3339(), "system check"),
    )


def _layers(paths: StorePaths) -> list[Finding]:
    conn = images_db(paths)
    rows = {r[0] for r in conn.execute("SELECT id FROM layers")}
    on_disk = set(os.listdir(paths.layers)) if paths.layers.is_dir() else set()
    used = container_layers(paths)
    for (layers,) in conn.execute("SELECT layers FROM images"):
        used.update(json.loads(layers))
    out = [
        Finding(
            "layers",
            lid[:12],
            "recorded but its directory is missing",
            "forget the layer",
            _locked(paths, _forget_layer, paths, lid),
        )
        for lid in sorted(rows - on_disk)
    ]
    for lid in sorted(on_disk - rows):
        if lid in used:  # published, then killed before its row was written
            out.append(
                Finding(
                    "layers",
                    lid[:12],
                    "a directory in use without its row",
                    "record it",
                    _locked(paths, _record_layer, paths, lid),
                )
            )
        else:
            out.append(
                Finding(
                    "layers",
                    lid[:12],
                    "a directory no row, image or container knows",
                    "delete it",
                    _locked(paths, remove_tree, paths, paths.layer(lid)),
                )
            )
    for name in sorted(os.listdir(paths.tmp)) if paths.tmp.is_dir() else []:
        if name.startswith((*OWN_TMP_PREFIXES, "rm-")) and _gone(name):
            out.append(
                Finding(
                    "layers",
                    f"tmp/{name}",
                    "left by an interrupted build or removal",
                    "delete it",
                    _locked(paths, _rm, paths.tmp / name),
                )
            )
    return out


def _images(paths: StorePaths) -> list[Finding]:
    from stackfile.store.images import ImageStore

    conn = images_db(paths)
    rows = {r[0] for r in conn.execute("SELECT id FROM layers")}
    store = ImageStore(paths)
    out = []
    for image_id, layers, config in conn.execute(
        "SELECT id, layers, config FROM images ORDER BY id"
    ).fetchall():
        short = image_id.removeprefix("sha256:")[:12]
        missing = [lid for lid in json.loads(layers) if lid not in rows or not paths.layer(lid).is_dir()]
        remove = _locked(paths, functools.partial(store.remove, force=True), image_id)
        if missing:
            out.append(
                Finding(
                    "images",
                    short,
                    f"its layer {missing[0][:12]} is missing",
                    "remove the image",
                    remove,
                    hint="build, load or pull it again",
                )
            )
        elif not store.blobs.has(image_id):
            blob = config.encode()
            if "sha256:" + hashlib.sha256(blob).hexdigest() == image_id:
                out.append(
                    Finding(
                        "images",
                        short,
                        "its config blob is missing",
                        "write it again from the record",
                        _locked(paths, store.blobs.put_bytes, blob, image_id),
                    )
                )
            else:
                out.append(Finding("images", short, "its config blob is missing", "remove the image", remove))
    return out
