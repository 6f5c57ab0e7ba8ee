"""Image archives in and out: ``docker save`` archives, OCI image layouts (directory or tar).

Loading extracts each layer safely (``store.archive``) into ``tmp/`` while hashing the uncompressed
stream (the diff id), checks it against the config, and publishes the layer under id = diff id hex,
so a layer already in the store is never extracted twice. Saving writes real diff ids, zstd layers
for OCI (``application/vnd.oci.image.layer.v1.tar+zstd``) and gzip layers for Docker archives.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from stackfile.errors import InvalidSpec, NotFound
from stackfile.store import lock
from stackfile.store.archive import extract_layer
from stackfile.store.compress import HashingReader, open_decompressed
from stackfile.store.images import ImageRecord, ImageStore
from stackfile.store.layers import LayerStore
from stackfile.store.paths import StorePaths

__all__ = ["import_rootfs", "import_source", "load_archive"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def import_source(paths: StorePaths, ref: str) -> ImageRecord:
    """Import ``oci-archive:<tar>``, ``docker-archive:<tar>`` or ``oci:<dir>``; named ``ref``."""
    kind, _, location = ref.partition(":")
    path = Path(location.split("@", 1)[0])
    if not path.exists():
        raise NotFound(f"{kind} {path} does not exist", hint="check the path in the image reference")
    images = load_archive(paths, path, archive_names=False)
    if not images:
        raise InvalidSpec(f"{path} holds no image")
    return ImageStore(paths).tag(images[0].id, ref)


def load_archive(paths: StorePaths, path: Path, *, archive_names: bool = True) -> list[ImageRecord]:
    """Load every image in a Docker or OCI archive (tar) or OCI layout directory; with
    ``archive_names`` the images get the names the archive gives them (``image load``)."""
    paths.ensure()
    with lock.shared(paths):
        return _load(paths, path, archive_names)


def _load(paths: StorePaths, path: Path, named: bool) -> list[ImageRecord]:
    if path.is_dir():
        return _load_dir(paths, path, named)
    with tempfile.TemporaryDirectory(dir=paths.tmp, prefix="load-") as tmp:
        try:
            with open(path, "rb") as fh:
                extract_layer(open_decompressed(fh), Path(tmp), archive=str(path), whiteouts=False,
                              allow_absolute_links=False, owners=False)
        except tarfile.TarError as exc:
            raise InvalidSpec(f"{path} is not an image archive (tar): {exc}") from None
        return _load_dir(paths, Path(tmp), named)


def _load_dir(paths: StorePaths, root: Path, named: bool) -> list[ImageRecord]:
    if (root / "manifest.json").is_file():
        return _load_docker(paths, root, named)
    if (root / "index.json").is_file():
        return _load_oci(paths, root, named)
    raise InvalidSpec(f"{root} is neither a Docker archive (manifest.json) nor an OCI layout (index.json)")


def _inside(root: Path, rel: str) -> Path:
    path = (root / rel).resolve()
    if root.resolve() not in path.parents:
        raise InvalidSpec(f"archive entry {rel!r} points outside the archive")
    return path


def _load_docker(paths: StorePaths, root: Path, named: bool) -> list[ImageRecord]:
    out = []
    for entry in json.loads((root / "manifest.json").read_text()):
        config = json.loads(_inside(root, entry["Config"]).read_bytes())
        blobs = [_inside(root, layer) for layer in entry.get("Layers") or ()]
        names = tuple(entry.get("RepoTags") or ()) if named else ()
        out.append(_store_image(paths, config, blobs, names))
    return out


def _blob(root: Path, digest: str) -> Path:
    algo, _, hexpart = digest.partition(":")
    return _inside(root, f"blobs/{algo}/{hexpart}")


def _load_oci(paths: StorePaths, root: Path, named: bool) -> list[ImageRecord]:
    out = []
    for desc, name in _manifests(root, json.loads((root / "index.json").read_text()), None):
        manifest = json.loads(_blob(root, desc["digest"]).read_bytes())
        config = json.loads(_blob(root, manifest["config"]["digest"]).read_bytes())
        blobs = [_blob(root, layer["digest"]) for layer in manifest.get("layers") or ()]
        names = (name,) if name and named else ()
        out.append(_store_image(paths, config, blobs, names))
    return out


Found = list[tuple[dict[str, Any], str | None]]


def _manifests(root: Path, index: dict[str, Any], name: str | None) -> Found:
    found: Found = []
    for desc in index.get("manifests") or ():
        ann = desc.get("annotations") or {}
        ref = ann.get("io.containerd.image.name") or name
        oci_ref = ann.get("org.opencontainers.image.ref.name") or ""
        if not ref and (":" in oci_ref or "/" in oci_ref):
            ref = oci_ref  # a bare tag ("latest") names nothing by itself
        if desc.get("mediaType") == OCI_INDEX:
            found.extend(_manifests(root, json.loads(_blob(root, desc["digest"]).read_bytes()), ref))
        elif desc.get("platform", {}).get("architecture", "amd64") in ("amd64", "x86_64"):
            found.append((desc, ref))
    return found


def _store_image(paths: StorePaths, config: dict[str, Any], blobs: list[Path],
                 names: tuple[str, ...]) -> ImageRecord:
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or ())
    if diff_ids and len(diff_ids) != len(blobs):
        raise InvalidSpec(f"image config lists {len(diff_ids)} layers but the manifest has {len(blobs)}")
    layers = LayerStore(paths)
    ids = [_import_layer(layers, blob, diff_ids[i] if diff_ids else None) for i, blob in enumerate(blobs)]
    history = [h for h in config.get("history") or () if isinstance(h, dict)]
    return ImageStore(paths).put(ids, config.get("config") or {}, created=config.get("created") or "",
                                 history=history, names=[n for n in names if n])


def _import_layer(layers: LayerStore, blob: Path, diff_id: str | None) -> str:
    if diff_id:
        existing = layers.find_by_diff_id(diff_id)
        if existing:
            return existing
    dest = layers.scratch_dir("import-")
    try:
        with open(blob, "rb") as fh:
            reader = HashingReader(open_decompressed(fh))
            extract_layer(reader, dest, archive=blob.name)  # type: ignore[arg-type]
            reader.drain()
        if diff_id and reader.digest != diff_id:
            raise InvalidSpec(f"layer {blob.name} has digest {reader.digest}, the config says {diff_id}")
        return layers.commit(dest, layer_id=reader.digest.split(":", 1)[1], diff_id=reader.digest,
                             origin="import")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise



def import_rootfs(paths: StorePaths, archive: Path, name: str | None = None) -> ImageRecord:
    """One image from a root file system tarball (``docker import``): one layer, PATH set."""
    if not archive.is_file():
        raise NotFound(f"{archive} does not exist")
    with lock.shared(paths):
        layers = LayerStore(paths)
        dest = layers.scratch_dir("import-")
        try:
            with open(archive, "rb") as fh:
                reader = HashingReader(open_decompressed(fh))
                extract_layer(reader, dest, archive=str(archive))  # type: ignore[arg-type]
                reader.drain()
            lid = layers.commit(dest, layer_id=reader.digest.split(":", 1)[1], diff_id=reader.digest,
                                origin="import")
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        config = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
        history = [{"created_by": f"imported from {archive.name}"}]
        return ImageStore(paths).put([lid], config, history=history, names=[name] if name else [])
