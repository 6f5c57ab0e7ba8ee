"""Layers: immutable directories under ``layers/<id>`` used directly as overlay lower dirs.

A layer is made in ``tmp/`` (by a build step, a base source or an archive import) and published
by :meth:`LayerStore.commit`: one ``rename`` into ``layers/`` — so a layer is either complete or
absent, whatever kills the writer — then a row in the database. A directory in ``layers/``
without a row (a crash between the two) is debris that garbage collection removes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from stackfile.errors import NotFound
from stackfile.store.paths import StorePaths
from stackfile.store.schema import images_db

__all__ = ["LayerStore", "dir_size", "new_layer_id", "now_rfc3339", "remove_tree"]


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_layer_id() -> str:
    """A fresh random layer id (64 hex characters)."""
    return os.urandom(32).hex()


class LayerStore:
    """Create, publish, look up and delete layer directories."""

    def __init__(self, paths: StorePaths) -> None:
        self.paths = paths

    def scratch_dir(self, prefix: str = "layer-") -> Path:
        """A new empty directory in ``tmp/`` (same filesystem as ``layers/``) to build a layer in."""
        self.paths.tmp.mkdir(parents=True, exist_ok=True)
        from stackfile.store.owner import token

        path = Path(tempfile.mkdtemp(prefix=f"{prefix}{token()}-", dir=self.paths.tmp))
        os.chmod(path, 0o755)
        return path

    def commit(self, directory: Path, *, layer_id: str | None = None, diff_id: str | None = None,
               origin: str = "") -> str:
        """Publish ``directory`` as a layer (rename, then record). Returns the layer id.

        When ``layer_id`` is given and that layer exists already, ``directory`` is discarded and the
        existing layer is kept: content-addressed layers are equal by construction.
        """
        lid = layer_id or new_layer_id()
        target = self.paths.layer(lid)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o755)
        renamed = False
        try:
            os.rename(directory, target)
            renamed = True
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(directory, ignore_errors=True)
        conn = images_db(self.paths)
        try:
            conn.execute(
                "INSERT INTO layers(id, diff_id, size, created, origin) VALUES(?,?,?,?,?) "
                "ON CONFLICT(id) DO NOTHING",
                (lid, diff_id, dir_size(target), now_rfc3339(), origin),
            )
        except BaseException:  # a full disk, a Ctrl-C: no directory without its row
            if renamed:
                remove_tree(self.paths, target)
            raise
        return lid

    def exists(self, layer_id: str) -> bool:
        row = images_db(self.paths).execute("SELECT 1 FROM layers WHERE id=?", (layer_id,)).fetchone()
        return row is not None and self.paths.layer(layer_id).is_dir()

    def path(self, layer_id: str) -> Path:
        if not self.exists(layer_id):
            raise NotFound(f"layer {layer_id[:12]} is not in the store")
        return self.paths.layer(layer_id)

    def diff_id(self, layer_id: str) -> str | None:
        row = images_db(self.paths).execute("SELECT diff_id FROM layers WHERE id=?", (layer_id,)).fetchone()
        return row[0] if row else None

    def set_diff_id(self, layer_id: str, diff_id: str) -> None:
        images_db(self.paths).execute("UPDATE layers SET diff_id=? WHERE id=?", (diff_id, layer_id))

    def find_by_diff_id(self, diff_id: str) -> str | None:
        row = images_db(self.paths).execute(
            "SELECT id FROM layers WHERE diff_id=? ORDER BY id LIMIT 1", (diff_id,)).fetchone()
        return row[0] if row and self.paths.layer(row[0]).is_dir() else None

    def sizes(self) -> dict[str, int]:
        """Bytes of every recorded layer."""
        return {r[0]: r[1] for r in images_db(self.paths).execute("SELECT id, size FROM layers")}

    def list(self) -> list[str]:
        return [r[0] for r in images_db(self.paths).execute("SELECT id FROM layers ORDER BY id")]

    def delete(self, layer_id: str) -> None:
        """Forget the row first, then remove the directory (via a rename, so it vanishes at once)."""
        images_db(self.paths).execute("DELETE FROM layers WHERE id=?", (layer_id,))
        remove_tree(self.paths, self.paths.layer(layer_id))


def remove_tree(paths: StorePaths, directory: Path) -> None:
    """Remove ``directory`` atomically from view (rename into tmp/), then delete it."""
    if not directory.exists():
        return
    paths.tmp.mkdir(parents=True, exist_ok=True)
    doomed = paths.tmp / f"rm-{os.urandom(16).hex()}"
    try:
        os.rename(directory, doomed)
    except OSError:
        doomed = directory
    shutil.rmtree(doomed, ignore_errors=True)


def dir_size(path: Path) -> int:
    """Bytes of the regular files below ``path`` (not following symlinks)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total
