"""Pull: manifest (an index picks the platform) → config → layers in parallel → an image in the store.

Each layer is skipped when the store has a layer with its diff id, else its blob is fetched into
the blob store (skipped when present, digest checked while streaming, resumed with ``Range``),
then extracted into a new layer whose uncompressed digest must be the config's diff id. The image
is recorded only when every layer is; an interrupted pull leaves complete blobs and layers (kept
for the next run) and ingest/tmp debris that garbage collection removes.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from stackfile.digest import digest_bytes
from stackfile.errors import InvalidSpec
from stackfile.events import EventSink, discard
from stackfile.registry import manifest as mf
from stackfile.registry.blobs import fetch_blob
from stackfile.registry.events import TransferDone, layer_progress
from stackfile.registry.options import RegistryOptions, current
from stackfile.registry.reference import Reference, parse_reference
from stackfile.registry.session import Session
from stackfile.store import lock
from stackfile.store.images import ImageRecord, ImageStore
from stackfile.store.layers import LayerStore
from stackfile.store.paths import StorePaths
from stackfile.store.schema import images_db

__all__ = ["fetch_manifest", "pull"]

_NO_DATE = "1970-01-01T00:00:00Z"  # a config without "created": the same image id on every pull


def fetch_manifest(session: Session, ref: Reference, target: str, scope: str) -> tuple[bytes, str, str]:
    """(bytes, media type, digest) of the manifest ``target`` (tag or digest) of ``ref``'s repository;
    a digest target is checked against the bytes."""
    resp = session.request(
        "GET",
        f"/v2/{ref.path}/manifests/{target}",
        scopes=(scope,),
        headers={"Accept": mf.ACCEPT},
        what=f"pull {ref}",
    )
    data = resp.body()
    digest = digest_bytes(data)
    if target.startswith("sha256:") and digest != target:
        raise InvalidSpec(
            f"manifest {target} of {ref.repo} from {session.host} does not match its digest "
            f"(got {digest}); nothing was stored"
        )
    media_type = resp.header("Content-Type").split(";", 1)[0].strip()
    return data, media_type, digest


def pull(
    paths: StorePaths,
    text: str,
    *,
    platform: str | None = None,
    sink: EventSink = discard,
    options: RegistryOptions | None = None,
) -> ImageRecord:
    """Pull ``text`` (any Docker spelling) into the store; named ``repo:tag`` unless pulled by digest."""
    ref = parse_reference(text)
    session = Session(ref.host, options or current(), auth_key=ref.auth_key)
    try:
        return _pull(paths, ref, session, platform, sink)
    finally:
        session.close()


def _pull(
    paths: StorePaths, ref: Reference, session: Session, platform: str | None, sink: EventSink
) -> ImageRecord:
    scope = f"repository:{ref.path}:pull"
    where = f"{ref.repo}:{ref.tag}" if ref.tag and not ref.digest else str(ref)
    data, media_type, digest = fetch_manifest(session, ref, ref.target, scope)
    doc = mf.load(data, where)
    if mf.is_index(media_type, doc):
        want = mf.parse_platform(platform) if platform else mf.host_platform()
        desc = mf.choose(doc, want, where)
        data, media_type, digest = fetch_manifest(session, ref, str(desc["digest"]), scope)
        doc = mf.load(data, where)
    layers_desc = [d for d in doc.get("layers") or () if isinstance(d, dict)]
    config_desc = doc.get("config") or {}
    config_raw = session.request(
        "GET",
        f"/v2/{ref.path}/blobs/{config_desc.get('digest')}",
        scopes=(scope,),
        what=f"pull {where} (config)",
        redirect=True,
    ).body()
    if digest_bytes(config_raw) != config_desc.get("digest"):
        raise InvalidSpec(
            f"the config of {where} from {session.host} does not match its digest; nothing was stored"
        )
    config = json.loads(config_raw)
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or ())
    if len(diff_ids) != len(layers_desc):
        raise InvalidSpec(
            f"{where}: the config lists {len(diff_ids)} layers, the manifest {len(layers_desc)}"
        )
    paths.ensure()
    with lock.shared(paths):
        puller = _LayerPuller(paths, session, ref, where, sink)
        workers = max(1, min(session.options.parallel, len(layers_desc)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pull") as pool:
            ids = list(pool.map(puller.layer, layers_desc, diff_ids))
        history = [h for h in config.get("history") or () if isinstance(h, dict)]
        names = [ref.name] if ref.tag or not ref.digest else []
        image = ImageStore(paths).put(
            ids,
            config.get("config") or {},
            created=config.get("created") or _NO_DATE,
            history=history,
            names=names,
        )
        db = images_db(paths)
        db.execute(
            "INSERT INTO image_digests(repo, digest, image_id, manifest) VALUES(?,?,?,?) "
            "ON CONFLICT(repo, digest) DO UPDATE SET image_id=excluded.image_id, "
            "manifest=excluded.manifest",
            (ref.repo, digest, image.id, data.decode()),
        )
        for desc in layers_desc:
            db.execute(
                "INSERT INTO blob_sources(digest, registry, repo) VALUES(?,?,?) ON CONFLICT DO NOTHING",
                (desc["digest"], ref.domain, ref.path),
            )
    size = sum(int(d.get("size", 0)) for d in layers_desc)
    sink(
        TransferDone(
            kind="pull.done",
            message=f"pulled {where}: digest {digest}",
            image=where,
            digest=digest,
            image_id=image.id,
            size=size,
        )
    )
    return image


class _LayerPuller:
    def __init__(
        self, paths: StorePaths, session: Session, ref: Reference, where: str, sink: EventSink
    ) -> None:
        self.paths, self.session, self.ref, self.where, self.sink = paths, session, ref, where, sink
        self.layers = LayerStore(paths)

    def _event(self, digest: str, status: str, current: int = 0, total: int = 0) -> None:
        self.sink(layer_progress("pull.layer", self.where, digest, status, current, total))

    def layer(self, desc: dict[str, Any], diff_id: str) -> str:
        digest, size = str(desc.get("digest", "")), int(desc.get("size", -1))
        media_type = str(desc.get("mediaType", ""))
        existing = self.layers.find_by_diff_id(diff_id)
        if existing:
            self._event(digest, "Already exists", size, size)
            return existing
        if media_type and media_type not in mf.LAYER_TYPES:
            raise InvalidSpec(
                f"{self.where}: layer {digest[:19]} has media type {media_type}, "
                "which is not a layer tar (gzip, zstd or plain)"
            )
        last = [-(1 << 20)]  # the first report (where a resumed download starts) always goes out

        def progress(have: int) -> None:
            if have - last[0] >= (1 << 20) or have == size:
                last[0] = have
                self._event(digest, "Downloading", have, size)

        lid = self._fetch_and_unpack(digest, size, diff_id, progress)
        images_db(self.paths).execute(
            "INSERT INTO layer_blobs(layer_id, digest, size, media_type) VALUES(?,?,?,?) "
            "ON CONFLICT(layer_id, media_type) DO UPDATE SET digest=excluded.digest, size=excluded.size",
            (lid, digest, size, media_type or mf.DOCKER_LAYER_GZIP),
        )
        self._event(digest, "Pull complete", size, size)
        return lid

    def _fetch_and_unpack(self, digest: str, size: int, diff_id: str, progress: Any) -> str:
        """Download the blob and unpack it as it arrives (from the verified blob when the download
        resumed or the blob was there); publish the layer only when both digests check out."""
        dests = [self.layers.scratch_dir("pull-")]
        try:
            blob, unpacked = fetch_blob(
                self.session,
                self.paths,
                self.ref.path,
                digest,
                size,
                progress,
                consume=lambda stream: self._unpack(stream, dests[0], digest),
            )
            self._event(digest, "Extracting", size, size)
            if unpacked is None:
                shutil.rmtree(dests[0], ignore_errors=True)
                dests[0] = self.layers.scratch_dir("pull-")
                with open(blob, "rb") as fh:
                    unpacked = self._unpack(fh, dests[0], digest)
            if unpacked != diff_id:
                raise InvalidSpec(
                    f"{self.where}: layer {digest[:19]} unpacks to {unpacked}, "
                    f"the image config says {diff_id}; nothing was stored"
                )
            return self.layers.commit(
                dests[0], layer_id=diff_id.split(":", 1)[1], diff_id=diff_id, origin=f"pull:{self.ref.repo}"
            )
        except BaseException:
            shutil.rmtree(dests[0], ignore_errors=True)
            raise

    @staticmethod
    def _unpack(stream: Any, dest: Any, digest: str) -> str:
        """Unpack a (gzip, zstd or plain) layer tar read from ``stream``; returns the tar's digest."""
        from stackfile.store.archive import extract_layer
        from stackfile.store.compress import HashingReader

        reader = HashingReader(_decompressed(stream))
        extract_layer(reader, dest, archive=f"layer {digest[:19]}")  # type: ignore[arg-type]
        reader.drain()
        return reader.digest


class _Peeked:
    """``inner`` with its first bytes (already read to sniff the compression) put back."""

    def __init__(self, inner: Any, head: bytes) -> None:
        self.inner, self.head = inner, head

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return bytes(self.inner.read(size))
        if size < 0:
            out, self.head = self.head + self.inner.read(), b""
            return out
        out, self.head = self.head[:size], self.head[size:]
        if len(out) < size:
            out += self.inner.read(size - len(out))
        return out


def _decompressed(stream: Any) -> Any:
    """A reader of ``stream``'s uncompressed bytes (gzip, zstd or none), without seeking."""
    from stackfile.store.compress import GZIP_MAGIC, ZSTD_MAGIC

    head = stream.read(4)
    source = _Peeked(stream, head)
    if head.startswith(GZIP_MAGIC):
        import gzip

        return gzip.GzipFile(fileobj=source, mode="rb")  # type: ignore[call-overload]
    if head == ZSTD_MAGIC:
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(source)  # type: ignore[arg-type]
    return source
