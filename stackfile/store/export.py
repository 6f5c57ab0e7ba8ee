"""``image save``: Docker archives (gzip layers, ``manifest.json``) and OCI archives (zstd layers)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tempfile
from pathlib import Path
from typing import IO, Any

from stackfile.digest import canonical_json, digest_bytes
from stackfile.store.archive import layer_to_tar
from stackfile.store.compress import HashingWriter
from stackfile.store.images import ImageRecord, oci_config
from stackfile.store.layers import LayerStore
from stackfile.store.paths import StorePaths

__all__ = ["save_images"]

OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class _Layer:
    def __init__(self, diff_id: str, blob: Path, digest: str, size: int) -> None:
        self.diff_id, self.blob, self.digest, self.size = diff_id, blob, digest, size


def _compress_layer(paths: StorePaths, lid: str, fmt: str, work: Path) -> _Layer:
    """Tar the layer, compressed (zstd for OCI, gzip for Docker), hashing both streams."""
    blob_path = work / f"{lid}.{fmt}"
    with open(blob_path, "wb") as raw:
        outer: Any = HashingWriter(raw)
        if fmt == "oci-archive":
            import zstandard

            comp: Any = zstandard.ZstdCompressor(level=3, threads=-1).stream_writer(outer, closefd=False)
        else:
            comp = gzip.GzipFile(fileobj=outer, mode="wb", compresslevel=1, mtime=0)
        inner = HashingWriter(comp)
        layer_to_tar(paths.layer(lid), inner)  # type: ignore[arg-type]
        comp.close()
    LayerStore(paths).set_diff_id(lid, inner.digest)
    return _Layer(inner.digest, blob_path, outer.digest, outer.size)


def _add(tar: tarfile.TarFile, name: str, data: bytes | Path) -> None:
    info = tarfile.TarInfo(name)
    info.mode = 0o644
    if isinstance(data, Path):
        info.size = data.stat().st_size
        with open(data, "rb") as fh:
            tar.addfile(info, fh)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def _config_blob(image: ImageRecord, layers: list[_Layer]) -> bytes:
    doc = oci_config(image.layers, image.config, image.created, image.history, image.architecture, image.os)
    doc["rootfs"]["diff_ids"] = [layer.diff_id for layer in layers]
    return canonical_json(doc)


def save_images(paths: StorePaths, images: list[ImageRecord], out: IO[bytes],
                fmt: str = "docker-archive") -> None:
    """Write ``images`` as one archive of format ``docker-archive`` or ``oci-archive`` to ``out``."""
    with tempfile.TemporaryDirectory(dir=paths.tmp, prefix="save-") as tmp, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        done: dict[str, _Layer] = {}
        entries: list[dict[str, Any]] = []
        for image in images:
            layers = []
            for lid in image.layers:
                if lid not in done:
                    done[lid] = _compress_layer(paths, lid, fmt, Path(tmp))
                    _add(tar, _layer_name(done[lid], fmt), done[lid].blob)
                layers.append(done[lid])
            config = _config_blob(image, layers)
            entries.append(_write_image(tar, image, layers, config, fmt))
        if fmt == "oci-archive":
            _add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            _add(tar, "index.json", json.dumps({"schemaVersion": 2, "manifests": entries}).encode())
        else:
            _add(tar, "manifest.json", json.dumps(entries).encode())


def _layer_name(layer: _Layer, fmt: str) -> str:
    if fmt == "oci-archive":
        return f"blobs/sha256/{layer.digest.split(':', 1)[1]}"
    return f"{layer.diff_id.split(':', 1)[1]}/layer.tar"


def _write_image(tar: tarfile.TarFile, image: ImageRecord, layers: list[_Layer], config: bytes,
                 fmt: str) -> dict[str, Any]:
    config_digest = digest_bytes(config)
    if fmt != "oci-archive":
        name = f"{config_digest.split(':', 1)[1]}.json"
        _add(tar, name, config)
        return {"Config": name, "RepoTags": list(image.names),
                "Layers": [_layer_name(layer, fmt) for layer in layers]}
    _add(tar, f"blobs/sha256/{config_digest.split(':', 1)[1]}", config)
    manifest = canonical_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER_ZSTD, "digest": layer.digest, "size": layer.size}
                   for layer in layers],
    })
    manifest_digest = digest_bytes(manifest)
    _add(tar, f"blobs/sha256/{manifest_digest.split(':', 1)[1]}", manifest)
    desc: dict[str, Any] = {"mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": len(manifest)}
    if image.names:
        desc["annotations"] = {"io.containerd.image.name": image.names[0],
                               "org.opencontainers.image.ref.name": image.names[0].rsplit(":", 1)[-1]}
    return desc

