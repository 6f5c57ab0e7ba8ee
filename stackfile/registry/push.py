"""Push: layers as compressed blobs (made once, remembered), HEAD first, cross-repository mount,
monolithic or chunked upload, then the config and the manifest (Docker schema 2).

A layer's compressed blob is made once (gzip level 1, the tar's digest recorded as the layer's
diff id) and remembered in ``layer_blobs``; a pulled layer already has one. A blob the registry
has is not sent (``HEAD``); one it has in another repository (``blob_sources``) is mounted.
A dropped push is completed by running it again: blobs that arrived are skipped.
"""

from __future__ import annotations

import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO

from stackfile.digest import canonical_json, digest_bytes
from stackfile.errors import InvalidSpec
from stackfile.events import EventSink, discard
from stackfile.registry import manifest as mf
from stackfile.registry.events import TransferDone, layer_progress
from stackfile.registry.options import RegistryOptions, current
from stackfile.registry.reference import Reference, parse_reference
from stackfile.registry.session import Session
from stackfile.store import lock
from stackfile.store.images import ImageRecord, ImageStore, oci_config
from stackfile.store.paths import StorePaths
from stackfile.store.schema import images_db

__all__ = ["push"]

_GZIP_TYPES = (mf.DOCKER_LAYER_GZIP, "application/vnd.oci.image.layer.v1.tar+gzip")


@dataclass(frozen=True)
class _Blob:
    digest: str
    size: int
    media_type: str
    path: str


def push(
    paths: StorePaths, text: str, *, sink: EventSink = discard, options: RegistryOptions | None = None
) -> str:
    """Push the local image named ``text`` to the registry its name gives; returns the manifest digest."""
    ref = parse_reference(text)
    if ref.digest:
        raise InvalidSpec(f"cannot push to a digest reference {text!r}", hint="push a tag: name:tag")
    image = ImageStore(paths).get(ref.name)
    session = Session(ref.host, options or current(), auth_key=ref.auth_key)
    try:
        with lock.shared(paths):
            return _Pusher(paths, session, ref, sink).run(image)
    finally:
        session.close()


class _ProgressReader:
    """A file that reports how much was read (http.client reads a body in blocks)."""

    def __init__(self, fh: BinaryIO, report: Any, limit: int) -> None:
        self.fh, self.report, self.left, self.done = fh, report, limit, 0

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.fh.read(size)
        self.left -= len(data)
        self.done += len(data)
        self.report(self.done)
        return data


class _Pusher:
    def __init__(self, paths: StorePaths, session: Session, ref: Reference, sink: EventSink) -> None:
        self.paths, self.session, self.ref, self.sink = paths, session, ref, sink
        self.where = f"{ref.repo}:{ref.tag}"
        self.scopes = (f"repository:{ref.path}:pull,push",)

    def _event(self, digest: str, status: str, current: int = 0, total: int = 0) -> None:
        self.sink(layer_progress("push.layer", self.where, digest, status, current, total))

    def run(self, image: ImageRecord) -> str:
        workers = max(1, min(self.session.options.parallel, len(image.layers)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="push") as pool:
            blobs = list(pool.map(self._layer, image.layers))
        from stackfile.store.layers import LayerStore

        store = LayerStore(self.paths)
        doc = oci_config(
            image.layers, image.config, image.created, image.history, image.architecture, image.os
        )
        doc["rootfs"]["diff_ids"] = [store.diff_id(lid) for lid in image.layers]
        config = canonical_json(doc)
        config_digest = digest_bytes(config)
        self._upload_bytes(config_digest, config)
        oci = any(b.media_type.startswith("application/vnd.oci.") for b in blobs)
        manifest = canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": mf.OCI_MANIFEST if oci else mf.DOCKER_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json" if oci else mf.DOCKER_CONFIG,
                    "size": len(config),
                    "digest": config_digest,
                },
                "layers": [{"mediaType": b.media_type, "size": b.size, "digest": b.digest} for b in blobs],
            }
        )
        digest = digest_bytes(manifest)
        self.session.request(
            "PUT",
            f"/v2/{self.ref.path}/manifests/{self.ref.tag}",
            scopes=self.scopes,
            headers={"Content-Type": mf.OCI_MANIFEST if oci else mf.DOCKER_MANIFEST},
            body=manifest,
            what=f"push {self.where} (manifest)",
            ok=(201, 200),
        ).body()
        db = images_db(self.paths)
        db.execute(
            "INSERT INTO image_digests(repo, digest, image_id, manifest) VALUES(?,?,?,?) "
            "ON CONFLICT(repo, digest) DO UPDATE SET image_id=excluded.image_id",
            (self.ref.repo, digest, image.id, manifest.decode()),
        )
        for b in blobs:
            db.execute(
                "INSERT INTO blob_sources(digest, registry, repo) VALUES(?,?,?) ON CONFLICT DO NOTHING",
                (b.digest, self.ref.domain, self.ref.path),
            )
        self.sink(
            TransferDone(
                kind="push.done",
                message=f"{self.ref.tag}: digest: {digest} size: {len(manifest)}",
                image=self.where,
                digest=digest,
                image_id=image.id,
                size=sum(b.size for b in blobs),
            )
        )
        return digest

    # -- layers ------------------------------------------------------------------------------------

    def _layer(self, lid: str) -> _Blob:
        blob = self._compressed(lid)
        total = blob.size
        if self._exists(blob.digest):
            self._event(blob.digest, "Layer already exists", total, total)
            return blob
        location = self._start(blob.digest)
        if location is None:
            return blob
        with open(blob.path, "rb") as fh:
            self._send(location, blob.digest, fh, total)
        self._event(blob.digest, "Pushed", total, total)
        return blob

    def _compressed(self, lid: str) -> _Blob:
        db = images_db(self.paths)
        marks = ",".join("?" * len(mf.LAYER_TYPES))
        for digest, size, media_type in db.execute(
            f"SELECT digest, size, media_type FROM layer_blobs WHERE layer_id=? AND media_type IN ({marks}) "
            "ORDER BY media_type",
            (lid, *mf.LAYER_TYPES),
        ):
            path = self.paths.blob(digest)
            if path.is_file():
                return _Blob(digest, int(size), str(media_type), str(path))
        return self._compress(lid)

    def _compress(self, lid: str) -> _Blob:
        import os

        from stackfile.registry.gzip_parallel import ParallelGzip
        from stackfile.store.archive import layer_to_tar
        from stackfile.store.blobs import BlobStore
        from stackfile.store.layers import LayerStore

        writer = BlobStore(self.paths).writer()
        try:
            gz = ParallelGzip(writer, workers=max(2, min(os.cpu_count() or 2, 8)))
            try:
                layer_to_tar(self.paths.layer(lid), gz)  # type: ignore[arg-type]
            finally:
                gz.close()
            size = writer.size
            digest = writer.commit()
        finally:
            writer.abort()
        LayerStore(self.paths).set_diff_id(lid, gz.diff_id)
        images_db(self.paths).execute(
            "INSERT INTO layer_blobs(layer_id, digest, size, media_type) VALUES(?,?,?,?) "
            "ON CONFLICT(layer_id, media_type) DO UPDATE SET digest=excluded.digest, size=excluded.size",
            (lid, digest, size, mf.DOCKER_LAYER_GZIP),
        )
        return _Blob(digest, size, mf.DOCKER_LAYER_GZIP, str(self.paths.blob(digest)))

    # -- uploads -----------------------------------------------------------------------------------

    def _exists(self, digest: str) -> bool:
        resp = self.session.request(
            "HEAD",
            f"/v2/{self.ref.path}/blobs/{digest}",
            scopes=self.scopes,
            what=f"push {self.where} (check {digest[:19]})",
            ok=(200, 404),
        )
        resp.body()
        return resp.status == 200

    def _start(self, digest: str) -> str | None:
        """An upload location, or None when the blob was mounted from another repository."""
        source = (
            images_db(self.paths)
            .execute(
                "SELECT repo FROM blob_sources WHERE digest=? AND registry=? AND repo<>? "
                "ORDER BY repo LIMIT 1",
                (digest, self.ref.domain, self.ref.path),
            )
            .fetchone()
        )
        path = f"/v2/{self.ref.path}/blobs/uploads/"
        scopes: tuple[str, ...] = self.scopes
        if source:
            path += "?" + urllib.parse.urlencode({"mount": digest, "from": source[0]})
            scopes = (*scopes, f"repository:{source[0]}:pull")
        resp = self.session.request(
            "POST", path, scopes=scopes, what=f"push {self.where} (start upload)", ok=(201, 202), body=b""
        )
        resp.body()
        if resp.status == 201:
            self._event(digest, f"Mounted from {source[0] if source else '?'}")
            return None
        location = resp.header("Location")
        if not location:
            raise InvalidSpec(f"registry {self.session.host} started an upload without a Location")
        return location

    def _send(self, location: str, digest: str, fh: BinaryIO, total: int, *, quiet: bool = False) -> None:
        def report(done: int) -> None:
            if not quiet:
                self._event(digest, "Pushing", done, total)

        chunk = self.session.options.chunk_size
        what = f"push {self.where} (upload {digest[:19]})"
        if chunk:
            offset = 0
            while offset < total:
                data = fh.read(chunk)
                resp = self.session.request(
                    "PATCH",
                    location,
                    scopes=self.scopes,
                    body=data,
                    what=what,
                    ok=(202,),
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(len(data)),
                        "Content-Range": f"{offset}-{offset + len(data) - 1}",
                    },
                )
                resp.body()
                location = resp.header("Location") or location
                offset += len(data)
                report(offset)
            body: Any = b""
            length = 0
        else:
            body = _ProgressReader(fh, report, total)
            length = total
        sep = "&" if "?" in location else "?"
        self.session.request(
            "PUT",
            f"{location}{sep}digest={urllib.parse.quote(digest)}",
            scopes=self.scopes,
            body=body,
            what=what,
            ok=(201, 204),
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(length)},
        ).body()

    def _upload_bytes(self, digest: str, data: bytes) -> None:
        if self._exists(digest):
            return
        location = self._start(digest)
        if location is None:
            return
        import io

        self._send(location, digest, io.BytesIO(data), len(data), quiet=True)
