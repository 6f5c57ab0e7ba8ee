"""Volumes with real containers: a named volume outlives its container, read-only binds refuse writes,
tmpfs is mounted, and the image's content seeds a new volume."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.runtime.api import ContainerSpec, Mount, Process
from stackfile.store.paths import StorePaths
from stackfile.volumes import VolumeManager
from tests.conftest import _unmount_below, needs_root
from tests.support.busybox import make_busybox_layer

pytestmark = needs_root


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[StorePaths, Path]]:
    root = Path(tempfile.mkdtemp(prefix="stackfile-vol-", dir="/var/tmp"))
    try:
        paths = StorePaths.at(root).ensure()
        yield paths, make_busybox_layer(root / "busybox")
    finally:
        _unmount_below(root)
        shutil.rmtree(root, ignore_errors=True)


def run(paths: StorePaths, layer: Path, name: str, script: str, mounts: list[Mount]) -> tuple[int, str]:
    from stackfile.runtime.linux.runtime import LinuxRuntime

    rt = LinuxRuntime(paths)
    cid = rt.create(ContainerSpec(name=name, layers=(str(layer),), process=Process(argv=("sh", "-c", script)),
                                  mounts=tuple(mounts)))
    try:
        rt.start(cid)
        code = rt.wait(cid, timeout=20)
        return code, "".join(line.text + "\n" for line in rt.logs(cid))
    finally:
        rt.remove(cid, force=True)


def test_named_volume_survives_recreation_and_ro_bind_refuses(
    env: tuple[StorePaths, Path], tmp_path: Path,
) -> None:
    paths, layer = env
    vm = VolumeManager(paths)
    host = tmp_path / "conf"
    entries = [{"type": "volume", "source": "data", "target": "/data"},
               {"type": "bind", "source": str(host), "target": "/conf", "read_only": True,
                "bind": {"create_host_path": True}},
               {"type": "tmpfs", "target": "/scratch", "tmpfs": {"size": 1 << 20}},
               {"type": "volume", "target": "/var/www"}]
    (host.parent).mkdir(parents=True, exist_ok=True)
    mounts = vm.mounts_for("app", entries, project="v", container="one", declared={"data": None},
                           image_layers=[str(layer)])
    code, out = run(paths, layer, "one", "echo kept > /data/f; cat /var/www/index.html; "
                    "touch /conf/x 2>/dev/null && echo WROTE || echo REFUSED; "
                    "grep -q ' /scratch tmpfs' /proc/mounts && echo TMPFS", mounts)
    assert code == 0, out
    assert out.splitlines() == ["hello from busybox", "REFUSED", "TMPFS"]
    assert not (host / "x").exists()
    vm.release("one")  # the container is gone: the named volume stays, the anonymous one goes
    mounts = vm.mounts_for("app", entries[:1], project="v", container="two", declared={"data": None})
    code, out = run(paths, layer, "two", "cat /data/f", mounts)
    assert (code, out) == (0, "kept\n")
    vm.release("two")
    assert [v.name for v in vm.list_volumes()] == ["v_data"]
    vm.remove("v_data")
