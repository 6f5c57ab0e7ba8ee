"""Garbage collection keeps what images, containers and the caller reference; removes the rest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from stackfile.store.gc import collect
from stackfile.store.images import ImageStore
from stackfile.store.layers import LayerStore
from stackfile.store.paths import StorePaths


@pytest.fixture()
def paths(store_root: Path) -> StorePaths:
    return StorePaths.at(store_root).ensure()


def _layer(paths: StorePaths, name: str) -> str:
    layers = LayerStore(paths)
    tmp = layers.scratch_dir()
    (tmp / name).write_text(name * 100)
    return layers.commit(tmp)


def test_gc_removes_only_unreferenced_layers_blobs_and_debris(paths: StorePaths) -> None:
    used, by_container, kept, dead = (_layer(paths, n) for n in "abcd")
    image = ImageStore(paths).put([used], {}, names=["app"])
    gone = ImageStore(paths).put([dead], {})
    ImageStore(paths).remove(gone.id)
    cdir = paths.container("c" * 64)
    cdir.mkdir(parents=True)
    (cdir / "config.json").write_text(json.dumps({"spec": {"layers": [str(paths.layer(by_container))]}}))
    (paths.container("broken")).mkdir()
    (paths.container("broken") / "config.json").write_text("{not json")
    orphan = paths.layer("f" * 64)
    orphan.mkdir()  # a crash between rename and the database row
    (paths.tmp / "copy-half").mkdir()
    (paths.tmp / "someone-elses").mkdir()
    (paths.ingest / "partial").write_bytes(b"x")
    report = collect(paths, keep={kept})
    assert sorted(report.layers) == sorted([dead, "f" * 64])
    assert report.bytes_freed >= 100
    assert {p.name for p in paths.layers.iterdir()} == {used, by_container, kept}
    assert sorted(os.listdir(paths.tmp)) == ["someone-elses"]
    assert os.listdir(paths.ingest) == []
    assert ImageStore(paths).get("app").id == image.id
    assert collect(paths, keep={kept}).layers == ()


def test_gc_waits_for_a_build_holding_the_store_lock(paths: StorePaths) -> None:
    import subprocess
    import sys
    import time

    _layer(paths, "x")  # a store with a database
    child = ("import sys, time\nfrom stackfile.store.paths import StorePaths\n"
             "from stackfile.store import lock\n"
             "with lock.shared(StorePaths.at(sys.argv[1])):\n"
             "    print('held', flush=True); time.sleep(0.6)\n")
    proc = subprocess.Popen([sys.executable, "-c", child, str(paths.root)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        start = time.monotonic()
        collect(paths)
        assert time.monotonic() - start > 0.3  # blocked until the shared holder let go
    finally:
        proc.kill()
        proc.wait()
