"""Failures: a registry killed mid-pull or mid-push gives a clear error, leaves the store sound, and a
second run completes (a pull resumes the partly downloaded blob); a corrupt blob is rejected and
nothing is stored. In-process, so the kill lands at a known point of the transfer."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.errors import InvalidSpec, StackfileError
from stackfile.events import Event
from stackfile.registry.options import RegistryOptions
from stackfile.registry.pull import pull
from stackfile.registry.push import push
from stackfile.store.images import ImageStore
from stackfile.store.layers import LayerStore
from stackfile.store.paths import StorePaths
from tests.conftest import needs_root
from tests.integration.registry.conftest import needs_registry, sf
from tests.integration.registry.regsupport import PASSWORD, USER, Registry, running_registry

pytestmark = [needs_root, needs_registry]
MIB = 1 << 20


@pytest.fixture()
def own_registry() -> Iterator[Registry]:
    """A registry of this test alone (it gets killed)."""
    work = Path(tempfile.mkdtemp(prefix="stackfile-registry-", dir="/var/tmp"))
    try:
        with running_registry(work) as reg:
            yield reg
    finally:
        os.system(f"rm -rf {work}")


def _options(cfg: Path, registry: Registry, **kw: int) -> RegistryOptions:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (cfg / "config.json").write_text(json.dumps({"auths": {registry.host: {"auth": auth}}}))
    return RegistryOptions(config_dir=str(cfg), **kw)  # type: ignore[arg-type]


def _big_image(root: Path, cfg: Path, tmp: Path, ref: str, mib: int) -> None:
    (tmp / "ctx").mkdir(exist_ok=True)
    (tmp / "ctx" / "Dockerfile").write_text(f"FROM busybox\nRUN head -c {mib}m /dev/urandom > /big\n")
    r = sf(root, cfg, "image", "build", "-t", ref, str(tmp / "ctx"))
    assert r.returncode == 0, r.stderr


def _top_blob(paths: StorePaths, ref: str) -> str:
    """The digest of the compressed blob the image's top layer was pushed as."""
    import sqlite3

    image = ImageStore(paths).get(ref)
    with sqlite3.connect(paths.db_str) as db:
        row = db.execute("SELECT digest FROM layer_blobs WHERE layer_id=?", (image.layers[-1],)).fetchone()
    return str(row[0])


def _killer(registry: Registry, status: str, at: int) -> tuple[list[Event], object]:
    seen: list[Event] = []

    def sink(event: Event) -> None:
        seen.append(event)
        if getattr(event, "status", "") == status and getattr(event, "current", 0) >= at and registry.proc:
            registry.kill()

    return seen, sink


def test_a_registry_killed_mid_pull_leaves_the_store_sound_and_the_rerun_resumes(
    own_registry: Registry, store_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    ref = f"{own_registry.host}/team/big:1"
    options = _options(docker_config, own_registry)
    _big_image(store_root, docker_config, tmp_path, ref, 24)
    push(StorePaths(store_root), ref, options=options)

    paths = StorePaths(tmp_path / "puller")
    _seen, sink = _killer(own_registry, "Downloading", 3 * MIB)
    with pytest.raises(StackfileError) as info:
        pull(paths, ref, sink=sink, options=options)  # type: ignore[arg-type]
    message = info.value.render()
    assert own_registry.host in message and ("connection lost" in message or "cannot reach" in message), (
        message
    )
    assert ImageStore(paths).resolve(ref) is None
    parts = list(paths.ingest.glob("*.part"))
    assert parts and parts[0].stat().st_size >= 3 * MIB  # what arrived is kept for the rerun
    assert not paths.blob(_top_blob(StorePaths(store_root), ref)).exists()  # nothing half-made is published

    own_registry.start()
    seen: list[Event] = []
    image = pull(paths, ref, sink=seen.append, options=options)
    first = next(
        e for e in seen if getattr(e, "status", "") == "Downloading" and getattr(e, "total", 0) > MIB
    )
    assert getattr(first, "current", 0) >= 3 * MIB  # resumed, not started over
    assert ref in image.names and list(paths.ingest.glob("*.part")) == []
    top = Path(paths.layer_str(image.layers[-1]))
    assert (top / "big").stat().st_size == 24 * MIB


def test_a_registry_killed_mid_push_is_a_clear_error_and_the_rerun_completes(
    own_registry: Registry, store_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    ref = f"{own_registry.host}/team/pushed:1"
    options = _options(docker_config, own_registry)
    _big_image(store_root, docker_config, tmp_path, ref, 24)
    paths = StorePaths(store_root)
    _seen, sink = _killer(own_registry, "Pushing", 3 * MIB)
    with pytest.raises(StackfileError) as info:
        push(paths, ref, sink=sink, options=options)  # type: ignore[arg-type]
    assert own_registry.host in info.value.render()
    assert "Traceback" not in info.value.render()
    assert ImageStore(paths).resolve(ref) is not None  # the local image is untouched

    own_registry.start()
    digest = push(paths, ref, options=options)
    other = StorePaths(tmp_path / "other")
    image = pull(other, ref, options=options)
    assert digest.startswith("sha256:") and ref in image.names
    assert (Path(other.layer_str(image.layers[-1])) / "big").stat().st_size == 24 * MIB


def test_chunked_uploads_give_the_same_image(
    registry: Registry, store_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    ref = f"{registry.host}/team/chunked:1"
    _big_image(store_root, docker_config, tmp_path, ref, 3)
    options = _options(docker_config, registry, chunk_size=MIB)
    seen: list[Event] = []
    push(StorePaths(store_root), ref, sink=seen.append, options=options)
    pushing = [e for e in seen if getattr(e, "status", "") == "Pushing"]
    assert len(pushing) >= 3  # one event per 1 MiB chunk of the 3 MiB layer
    image = pull(StorePaths(tmp_path / "other"), ref, options=options)
    assert (
        Path(StorePaths(tmp_path / "other").layer_str(image.layers[-1])) / "big"
    ).stat().st_size == 3 * MIB


def test_a_blob_that_does_not_match_its_digest_is_rejected_and_nothing_is_stored(
    registry: Registry, store_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    ref = f"{registry.host}/team/corrupt:1"
    options = _options(docker_config, registry)
    _big_image(store_root, docker_config, tmp_path, ref, 1)
    paths = StorePaths(store_root)
    push(paths, ref, options=options)
    digest = _top_blob(paths, ref)
    data = registry.data / "docker/registry/v2/blobs/sha256" / digest[7:9] / digest[7:] / "data"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # same size, one byte changed on the registry's disk
    data.write_bytes(bytes(raw))

    other = StorePaths(tmp_path / "other")
    with pytest.raises(InvalidSpec) as info:
        pull(other, ref, options=options)
    assert "does not match its digest" in str(info.value) and "nothing was stored" in str(info.value)
    assert ImageStore(other).resolve(ref) is None
    assert not other.blob(digest).exists() and list(other.ingest.glob("*")) == []
    base = ImageStore(paths).get(ref).layers[0]
    assert LayerStore(other).list() == [str(LayerStore(paths).diff_id(base))[7:]]  # only the complete one
