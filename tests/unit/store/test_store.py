"""Blobs, layers, images and names: the content-addressed store's contracts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stackfile.errors import Conflict, InvalidSpec, NotFound
from stackfile.store.blobs import BlobStore
from stackfile.store.images import ImageStore
from stackfile.store.layers import LayerStore
from stackfile.store.paths import StorePaths
from stackfile.store.refs import normalize_name


@pytest.fixture()
def paths(store_root: Path) -> StorePaths:
    return StorePaths.at(store_root).ensure()


def test_blob_put_verifies_and_is_idempotent(paths: StorePaths) -> None:
    blobs = BlobStore(paths)
    digest = blobs.put_bytes(b"hello")
    assert digest == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert blobs.put_bytes(b"hello") == digest
    assert blobs.read(digest) == b"hello"
    assert oct(os.stat(blobs.path(digest)).st_mode & 0o777) == "0o444"
    with pytest.raises(InvalidSpec, match="digest mismatch"):
        blobs.put_bytes(b"other", expected=digest)
    assert os.listdir(paths.ingest) == []


def _layer(paths: StorePaths, name: str) -> str:
    layers = LayerStore(paths)
    tmp = layers.scratch_dir()
    (tmp / name).write_text(name)
    return layers.commit(tmp)


def test_images_resolve_by_name_id_and_prefix(paths: StorePaths) -> None:
    store = ImageStore(paths)
    lid = _layer(paths, "a")
    img = store.put([lid], {"Cmd": ["sh"]}, created="2026-01-01T00:00:00Z", names=["app"])
    assert img.names == ("app:latest",)
    assert img.lower_dirs(paths) == (str(paths.layer(lid)),)
    for ref in ("app", "app:latest", img.id, img.id[7:], img.id[7:19]):
        assert store.get(ref).id == img.id
    again = store.put([lid], {"Cmd": ["sh"]}, created="2026-01-01T00:00:00Z")
    assert again.id == img.id  # same content, same id
    with pytest.raises(NotFound):
        store.get("nope")


def test_remove_untags_first_then_deletes(paths: StorePaths) -> None:
    store = ImageStore(paths)
    img = store.put([_layer(paths, "b")], {}, names=["one", "two:1"])
    with pytest.raises(Conflict, match="several names"):
        store.remove(img.id)
    assert store.remove("one") == ["untagged one:latest"]
    assert store.remove("two:1")[-1] == f"deleted {img.id}"
    assert store.resolve(img.id) is None and not BlobStore(paths).has(img.id)


def test_ambiguous_prefix_is_a_conflict(paths: StorePaths) -> None:
    store = ImageStore(paths)
    ids = [store.put([], {"Labels": {"n": str(i)}}).id for i in range(40)]
    shared = next(a[7:8] for a in ids for b in ids if a != b and a[7] == b[7])
    with pytest.raises(Conflict, match="ambiguous"):
        store.get(shared)


def test_name_normalisation() -> None:
    assert normalize_name("busybox") == "busybox:latest"
    assert normalize_name("localhost:5000/team/app") == "localhost:5000/team/app:latest"
    assert normalize_name("docker://alpine:3.19") == "alpine:3.19"
    with pytest.raises(InvalidSpec, match="invalid image name"):
        normalize_name("Bad Name")
