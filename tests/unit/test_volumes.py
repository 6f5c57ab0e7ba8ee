"""VolumeManager over a real store root: naming, creation, refs, removal, service mounts, first-use copy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stackfile.errors import Conflict, InvalidSpec, NotFound, PermissionDenied
from stackfile.runtime.api import Mount
from stackfile.spec.model import ServiceVolume, Volume
from stackfile.store.paths import StorePaths
from stackfile.volumes import VolumeConfig, VolumeManager, inherit_mounts, volume_config


@pytest.fixture()
def vm(tmp_path: Path) -> VolumeManager:
    return VolumeManager(StorePaths.at(tmp_path / "store"))


def test_volume_names_follow_compose() -> None:
    assert volume_config("data", None, "p").name == "p_data"
    assert volume_config("data", Volume(name="custom"), "p").name == "custom"
    assert volume_config("data", {"external": True}, "p") == VolumeConfig("data", "p", external=True)


def test_create_list_inspect_remove_and_refs(vm: VolumeManager) -> None:
    rec = vm.create("p_data", project="p", labels={"a": "1"})
    assert Path(rec.mountpoint).is_dir() and rec.mountpoint.endswith("volumes/p_data/_data")
    assert vm.create("p_data").labels == {"a": "1"}  # idempotent
    vm.create("q_other", project="q")
    assert [v.name for v in vm.list_volumes()] == ["p_data", "q_other"]
    assert [v.name for v in vm.list_volumes("q")] == ["q_other"]
    vm.use("p_data", "c1")
    with pytest.raises(Conflict, match="in use"):
        vm.remove("p_data")
    assert vm.release("c1") == []  # named volumes survive their containers
    vm.remove("p_data")
    assert not Path(rec.mountpoint).exists()
    with pytest.raises(NotFound, match="p_data"):
        vm.inspect("p_data")
    with pytest.raises(NotFound, match="external volume"):
        vm.ensure(VolumeConfig("ext", external=True))
    with pytest.raises(InvalidSpec, match="driver"):
        vm.create("x", driver="nfs")
    with pytest.raises(InvalidSpec, match="invalid volume name"):
        vm.create("../evil")


def test_service_mounts(vm: VolumeManager, tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    entries = [
        ServiceVolume(type="bind", source="./src", target="/app", read_only=True,
                      bind={"create_host_path": True, "propagation": "rslave"}),
        {"type": "volume", "source": "data", "target": "/data"},
        {"type": "volume", "target": "/cache"},
        {"type": "tmpfs", "target": "/run/t", "tmpfs": {"size": 1048576, "mode": "1777"}},
    ]
    mounts = vm.mounts_for("web", entries, project="p", container="c1", declared={"data": None},
                           project_dir=proj)
    assert mounts[0] == Mount(type="bind", target="/app", source=str(proj / "src"), read_only=True,
                              propagation="rslave")
    assert (proj / "src").is_dir()
    assert mounts[1].source == vm.inspect("p_data").mountpoint and mounts[1].type == "volume"
    anon = [v for v in vm.list_volumes() if v.anonymous]
    assert len(anon) == 1 and mounts[2].source == anon[0].mountpoint and anon[0].users == ("c1",)
    assert mounts[3] == Mount(type="tmpfs", target="/run/t", tmpfs_size=1048576, tmpfs_mode=0o1777)
    # recreating the container reuses the named volume; anonymous ones go with their container
    assert vm.release("c1") == [anon[0].name]
    assert vm.get("p_data") is not None
    assert [m.read_only for m in inherit_mounts(mounts, "ro")] == [True, True, True]


@pytest.mark.parametrize(("entry", "error", "text"), [
    ({"type": "bind", "source": "missing", "target": "/x"}, NotFound, "does not exist"),
    ({"type": "volume", "source": "nope", "target": "/x"}, NotFound, "undefined volume 'nope'"),
    ({"type": "volume", "source": "data", "target": "rel"}, InvalidSpec, "not an absolute path"),
    ({"type": "npipe", "source": "x", "target": "/x"}, InvalidSpec, "not supported"),
    ({"type": "bind", "source": ".", "target": "/x", "bind": {"propagation": "odd"}}, InvalidSpec,
     "propagation"),
    ({"type": "volume", "source": "data", "target": "/x", "volume": {"subpath": "../../etc"}},
     InvalidSpec, "leaves the volume"),
])
def test_bad_mounts_name_service_and_key(vm: VolumeManager, tmp_path: Path, entry: dict[str, object],
                                         error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text) as info:
        vm.mounts_for("web", [entry], project="p", container="c", declared={"data": None},
                      project_dir=tmp_path)
    assert "web" in str(info.value) and "services.web.volumes[0]" in str(info.value)


def test_bind_source_that_cannot_be_created(vm: VolumeManager, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    entry = {"type": "bind", "source": "file/sub", "target": "/x", "bind": {"create_host_path": True}}
    with pytest.raises(PermissionDenied, match="cannot create bind source") as info:
        vm.mounts_for("web", [entry], project="p", container="c", project_dir=tmp_path)
    assert "services.web.volumes[0]" in str(info.value)
    assert f"{tmp_path / 'file/sub'}: Not a directory" in info.value.message
    assert info.value.hint is not None and "create the directory yourself" in info.value.hint


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (whiteout device nodes, chown)")
def test_first_use_copies_image_content_with_overlay_semantics(vm: VolumeManager, tmp_path: Path) -> None:
    lower, upper = tmp_path / "l1", tmp_path / "l2"
    (lower / "srv/data/keep").mkdir(parents=True)
    (lower / "srv/data/keep/a.txt").write_text("a")
    (lower / "srv/data/gone.txt").write_text("old")
    (upper / "srv/data").mkdir(parents=True)
    os.mknod(upper / "srv/data/gone.txt", 0o600 | 0o020000, 0)  # overlay whiteout
    (upper / "srv/data/new.txt").write_text("new")
    os.symlink("/etc/passwd", upper / "srv/data/link")
    os.chown(upper / "srv/data/new.txt", 1000, 1000)
    layers = [str(upper), str(lower)]  # top first
    mounts = vm.mounts_for("db", [{"type": "volume", "source": "d", "target": "/srv/data"}], project="p",
                           container="c1", declared={"d": None}, image_layers=layers)
    data = Path(mounts[0].source)
    assert sorted(p.name for p in data.iterdir()) == ["keep", "link", "new.txt"]
    assert (data / "keep/a.txt").read_text() == "a" and os.readlink(data / "link") == "/etc/passwd"
    assert (data / "new.txt").stat().st_uid == 1000
    (data / "new.txt").write_text("changed")
    vm.release("c1")
    again = vm.mounts_for("db", [{"type": "volume", "source": "d", "target": "/srv/data"}], project="p",
                          container="c2", declared={"d": None}, image_layers=layers)
    assert Path(again[0].source, "new.txt").read_text() == "changed"  # copied once, never again


def test_service_mounts_from_the_models(vm: VolumeManager, tmp_path: Path) -> None:
    from stackfile.spec.model import Stack

    stack = Stack.model_validate({
        "name": "proj",
        "services": {"web": {"image": "busybox", "tmpfs": ["/run:size=64k,mode=1777", "/tmp"],
                             "volumes": [{"type": "volume", "source": "data", "target": "/data"}]}},
        "volumes": {"data": {}},
    })
    mounts = vm.service_mounts(stack, stack.services["web"], container="proj-web-1",
                               working_dir=str(tmp_path))
    assert [m.target for m in mounts] == ["/data", "/run", "/tmp"]
    assert mounts[0].source == vm.inspect("proj_data").mountpoint
    assert (mounts[1].tmpfs_size, mounts[1].tmpfs_mode, mounts[2].tmpfs_size) == (65536, 0o1777, None)


def test_an_interrupted_fill_is_done_again_whole(vm: VolumeManager, tmp_path: Path) -> None:
    """A fill killed half-way left an empty volume and a staging directory of a dead process: the
    next use fills the volume completely and removes the leftover (issue 12.2, volume fill)."""
    layer = tmp_path / "l1"
    (layer / "srv/data").mkdir(parents=True)
    for name in ("a", "b", "c"):
        (layer / "srv/data" / name).write_text(name)
    vm.create("p_d")  # what the project's volume "d" is called
    stale = vm.data_dir("p_d").parent / ".fill-999999999.1-dead"
    stale.mkdir()
    (stale / "a").write_text("a")  # half of what the killed fill copied
    mounts = vm.mounts_for("db", [{"type": "volume", "source": "d", "target": "/srv/data"}], project="p",
                           container="c1", declared={"d": None}, image_layers=[str(layer)])
    data = Path(mounts[0].source)
    assert sorted(p.name for p in data.iterdir()) == ["a", "b", "c"]
    assert not stale.exists()
    assert data == vm.data_dir("p_d")
    assert not list(vm.data_dir("p_d").parent.glob(".fill-*"))
