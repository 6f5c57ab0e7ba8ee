"""Images: an OCI image config plus a chain of layers, with names and tags.

An image's id is ``sha256:<hex>`` of its config blob (canonical JSON of the OCI image config:
``architecture``, ``os``, ``created``, ``config``, ``rootfs.diff_ids``, ``history``); the blob is kept
in the blob store. Inside the store ``rootfs.diff_ids`` name the store's layers
(``sha256:<layer id>``); ``image save`` computes the real tar digests on export.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from stackfile.errors import Conflict, InvalidSpec, NotFound
from stackfile.record import Record
from stackfile.store import journal
from stackfile.store.paths import StorePaths
from stackfile.store.refs import normalize_name, resolve_image_id
from stackfile.store.schema import images_db

TYPE_CHECKING = False  # not typing's: ``container run`` reads an image from here (see record.py)
if TYPE_CHECKING:
    from typing import Any

    from stackfile.store.blobs import BlobStore

__all__ = ["ImageRecord", "ImageStore", "oci_config"]


class ImageRecord(Record):
    """One stored image. ``config`` is the OCI config's ``config`` section (Env, Cmd, ...).

    A :class:`~stackfile.record.Record` (``container run`` reads one on its first run after the
    store changed, and should import neither ``typing`` nor ``dataclasses``); equal when id and
    names are. Never mutate ``config`` in place."""

    id: str
    names: tuple[str, ...]
    layers: tuple[str, ...]  # layer ids, bottom first
    config: dict[str, Any] = {}  # shared default: never mutated
    created: str = ""
    history: tuple[dict[str, Any], ...] = ()
    architecture: str = "amd64"
    os: str = "linux"

    def lower_dirs(self, paths: StorePaths) -> tuple[str, ...]:
        """Absolute layer directories, top first: ready for ``ContainerSpec.layers``."""
        return tuple(paths.layer_str(lid) for lid in reversed(self.layers))

    @property
    def short_id(self) -> str:
        from stackfile.digest import short_id

        return short_id(self.id)

    def oci(self) -> dict[str, Any]:
        """The full OCI image config this record was stored as."""
        return oci_config(self.layers, self.config, self.created, self.history,
                          self.architecture, self.os)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ImageRecord) and (self.id, self.names) == (other.id, other.names)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.id)


def oci_config(layers: Iterable[str], config: dict[str, Any], created: str,
               history: Iterable[dict[str, Any]], architecture: str = "amd64",
               os_name: str = "linux") -> dict[str, Any]:
    return {
        "architecture": architecture,
        "os": os_name,
        "created": created,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{lid}" for lid in layers]},
        "history": list(history),
    }


class ImageStore:
    """Images and their names in the store database; config blobs in the blob store."""

    def __init__(self, paths: StorePaths) -> None:
        self.paths = paths

    @property
    def blobs(self) -> BlobStore:
        from stackfile.store.blobs import BlobStore

        return BlobStore(self.paths)

    @property
    def _db(self) -> Any:
        return images_db(self.paths)

    def put(self, layers: Iterable[str], config: dict[str, Any], *, created: str | None = None,
            history: Iterable[dict[str, Any]] = (), names: Iterable[str] = ()) -> ImageRecord:
        """Store an image (idempotent: the same content gives the same id) and tag it with ``names``."""
        from stackfile.digest import canonical_json, digest_bytes
        from stackfile.store.layers import now_rfc3339

        layer_ids = tuple(layers)
        doc = oci_config(layer_ids, config, created or now_rfc3339(), history)
        blob = canonical_json(doc)
        image_id = digest_bytes(blob)
        if self._row(image_id) is None:
            self.blobs.put_bytes(blob, image_id)
            self._db.execute(
                "INSERT INTO images(id, config, layers, created, added) VALUES(?,?,?,?,?) "
                "ON CONFLICT(id) DO NOTHING",
                (image_id, blob.decode(), json.dumps(list(layer_ids)), doc["created"], now_rfc3339()),
            )
        for name in names:
            self.tag(image_id, name)
        return self.get(image_id)

    def tag(self, ref: str, name: str) -> ImageRecord:
        """Point ``name`` at the image ``ref`` resolves to (moving it from any other image)."""
        image = self.get(ref)
        name = normalize_name(name)
        if name in image.names:
            return image  # already so: no write transaction
        self._db.execute(
            "INSERT INTO image_names(name, image_id) VALUES(?,?) "
            "ON CONFLICT(name) DO UPDATE SET image_id=excluded.image_id",
            (name, image.id),
        )
        self._names_changed()
        journal.record(self.paths.root_str, "image", "tag", image.id, {"name": name})
        return self.get(image.id)

    def untag(self, name: str) -> None:
        image = self.resolve(name)
        cur = self._db.execute("DELETE FROM image_names WHERE name=?", (normalize_name(name),))
        if cur.rowcount == 0:
            raise NotFound(f"no image is named {name!r}")
        self._names_changed()
        journal.record(self.paths.root_str, "image", "untag", image.id if image else "",
                       {"name": normalize_name(name)})

    def _names_changed(self) -> None:
        marker = self.paths.image_names_marker
        marker.write_text(str(time.time_ns()))

    def resolve(self, ref: str) -> ImageRecord | None:
        """The image ``ref`` names (name, name:tag, full id, hex id or unique id prefix), or None."""
        image_id = self._resolve_id(ref)
        return self._load(image_id) if image_id else None

    def get(self, ref: str) -> ImageRecord:
        """Like :meth:`resolve` but raises NotFound."""
        image = self.resolve(ref)
        if image is None:
            raise NotFound(f"image {ref!r} is not in the store",
                           hint="list images with 'stackfile image ls'; build or load it first")
        return image

    def all(self) -> list[ImageRecord]:
        rows = self._db.execute("SELECT id FROM images ORDER BY created DESC, id").fetchall()
        return [self._load(r[0]) for r in rows]

    def remove(self, ref: str, *, force: bool = False) -> list[str]:
        """Remove a name, or an image by id. Returns what was untagged/deleted (``name`` / ``id``)."""
        image = self.get(ref)
        done: list[str] = []
        by_name = self._is_name(ref, image)
        if by_name and len(image.names) > 1:
            self.untag(ref)
            return [f"untagged {normalize_name(ref)}"]
        if not by_name and len(image.names) > 1 and not force:
            raise Conflict(f"image {image.short_id} has several names ({', '.join(image.names)})",
                           hint="remove it by name, or pass --force to remove every name")
        for name in image.names:
            done.append(f"untagged {name}")
            journal.record(self.paths.root_str, "image", "untag", image.id, {"name": name})
        self._db.execute("DELETE FROM images WHERE id=?", (image.id,))
        self._names_changed()
        self.blobs.delete(image.id)
        journal.record(self.paths.root_str, "image", "delete", image.id,
                       {"name": image.names[0]} if image.names else {})
        done.append(f"deleted {image.id}")
        return done

    def list(self) -> list[ImageRecord]:
        """Every image, newest first."""
        return self.all()

    def referenced_layers(self) -> set[str]:
        out: set[str] = set()
        for (layers,) in self._db.execute("SELECT layers FROM images"):
            out.update(json.loads(layers))
        return out

    # -- internals -------------------------------------------------------------------------------

    def _is_name(self, ref: str, image: ImageRecord) -> bool:
        try:
            return normalize_name(ref) in image.names
        except InvalidSpec:
            return False

    def _row(self, image_id: str) -> Any:
        return self._db.execute("SELECT id, config, layers FROM images WHERE id=?", (image_id,)).fetchone()

    def _resolve_id(self, ref: str) -> str | None:
        return resolve_image_id(self._db, ref)

    def _load(self, image_id: str) -> ImageRecord:
        row = self._row(image_id)
        if row is None:
            raise NotFound(f"image {image_id} is not in the store")
        doc = json.loads(row["config"])
        names = tuple(r[0] for r in self._db.execute(
            "SELECT name FROM image_names WHERE image_id=? ORDER BY name", (image_id,)))
        return ImageRecord(
            id=image_id, names=names, layers=tuple(json.loads(row["layers"])),
            config=doc.get("config") or {}, created=doc.get("created", ""),
            history=tuple(doc.get("history") or ()), architecture=doc.get("architecture", "amd64"),
            os=doc.get("os", "linux"),
        )
