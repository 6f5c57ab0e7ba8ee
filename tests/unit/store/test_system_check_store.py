"""``system check`` over a store made through the store's own API, then damaged by hand: what a
crash leaves is found (and only that: live work and fresh creates are left alone), and repaired."""

from __future__ import annotations

import os
import time
from pathlib import Path

from stackfile.engine.check import check
from stackfile.store.images import ImageStore
from stackfile.store.layers import LayerStore
from stackfile.store.owner import token
from stackfile.store.paths import StorePaths


def _store(tmp_path: Path) -> tuple[StorePaths, str, str]:
    paths = StorePaths.at(tmp_path / "root").ensure()
    layers = LayerStore(paths)
    d = layers.scratch_dir()
    (d / "f").write_text("x")
    lid = layers.commit(d)
    image = ImageStore(paths).put([lid], {"Cmd": ["true"]}, names=["img"])
    return paths, lid, image.id


def _problems(paths: StorePaths) -> set[tuple[str, str]]:
    return {(f.area, f.subject) for f in check(paths).findings}


def test_a_fresh_store_is_sound(tmp_path: Path) -> None:
    paths, _, _ = _store(tmp_path)
    assert check(paths).sound


def test_store_damage_is_found_and_repaired(tmp_path: Path) -> None:
    paths, lid, image_id = _store(tmp_path)
    blob = paths.blob(image_id)
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes() + b" ")
    (paths.ingest).mkdir(exist_ok=True)
    (paths.ingest / "999999999.1-dead").write_bytes(b"half")
    (paths.ingest / f"{token()}-live").write_bytes(b"being written")  # this process: still working
    (paths.tmp / "copy-999999999.1-abc").mkdir()
    (paths.layers / ("f" * 64)).mkdir()
    stale = paths.containers / ("e" * 64)
    stale.mkdir(parents=True)
    os.utime(stale, (time.time() - 3600,) * 2)
    fresh = paths.containers / ("d" * 64)
    fresh.mkdir()  # a create in progress
    found = _problems(paths)
    assert found == {
        ("blobs", image_id), ("blobs", "ingest/999999999.1-dead"), ("layers", "tmp/copy-999999999.1-abc"),
        ("layers", "f" * 12), ("containers", "e" * 12),
    }, found
    report = check(paths, repair=True)
    assert not report.failed, report.failed
    assert report.sound, report.findings  # the image's config blob was written again from its record
    assert ImageStore(paths).get("img").layers == (lid,)
    assert (paths.ingest / f"{token()}-live").exists() and fresh.exists()
