"""The pure parts of the change commands: Docker's detach keys, ``update``'s checks and merge,
and the cgroup v2 files an update writes (on a plain directory standing for the unified tree)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackfile.engine.attach import parse_detach_keys
from stackfile.engine.container_change import UpdateRequest, merge_resources
from stackfile.errors import InvalidSpec
from stackfile.runtime.api import Resources
from stackfile.runtime.linux.cgroups import V2Cgroup


def test_detach_keys() -> None:
    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("ctrl-x,q") == b"\x18q"
    assert parse_detach_keys("ctrl-@,ctrl-[,ctrl-_") == b"\x00\x1b\x1f"
    for bad in ("ctrl-", "ctrl-pp", "alt-p", ""):
        with pytest.raises(InvalidSpec, match="detach key"):
            parse_detach_keys(bad)


def test_update_merges_and_removes_limits() -> None:
    old = Resources(memory=100 << 20, cpus=1.0, pids_limit=10, cpu_shares=512)
    assert merge_resources(old, UpdateRequest(memory="200m")) == old._replace(memory=200 << 20)
    assert merge_resources(old, UpdateRequest(cpus=0, pids_limit=-1, cpu_shares=0)) == Resources(
        memory=100 << 20)
    assert merge_resources(old, UpdateRequest(memory_swap="-1")).memory_swap == -1
    assert merge_resources(old, UpdateRequest(memory="0")).memory is None


@pytest.mark.parametrize(("old", "req", "message"), [
    (Resources(), UpdateRequest(), "one or more flags"),
    (Resources(), UpdateRequest(memory="1m"), "6MB"),
    (Resources(), UpdateRequest(memory="lots"), "invalid size"),
    (Resources(), UpdateRequest(memory_swap="64m"), "memory limit when using the memoryswap"),
    (Resources(memory=64 << 20), UpdateRequest(memory_swap="32m"), "larger than the memory limit"),
    (Resources(memory=16 << 20, memory_swap=32 << 20), UpdateRequest(memory="64m"), "update the memoryswap"),
    (Resources(), UpdateRequest(cpus=1000.0), "range of CPUs"),
    (Resources(), UpdateRequest(cpu_shares=-2), "cpu-shares"),
])
def test_update_refusals_name_the_flag(old: Resources, req: UpdateRequest, message: str) -> None:
    with pytest.raises(InvalidSpec, match=message) as info:
        merge_resources(old, req)
    assert info.value.location is not None or message == "one or more flags"


def test_v2_update_writes_the_unified_files(tmp_path: Path) -> None:
    (tmp_path / "stackfile" / "c1").mkdir(parents=True)
    (tmp_path / "stackfile" / "cgroup.subtree_control").write_text("cpu memory pids\n")
    (tmp_path / "stackfile" / "c1" / "memory.swap.max").write_text("max\n")
    cg = V2Cgroup(tmp_path, "c1")
    new = Resources(memory=64 << 20, memory_swap=96 << 20, cpus=0.5, cpu_shares=1024, pids_limit=20)
    cg.update(Resources(), new)

    def read(name: str) -> str:
        return (tmp_path / "stackfile" / "c1" / name).read_text()
    assert [read(n) for n in ("memory.max", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max")] == [
        str(64 << 20), str(32 << 20), "50000 100000", "39", "20"]
    cg.update(new, Resources())
    assert [read(n) for n in ("memory.max", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max")] == [
        "max", "max", "max 100000", "100", "max"]


def test_v2_update_refuses_a_missing_controller(tmp_path: Path) -> None:
    from stackfile.errors import Unavailable

    (tmp_path / "stackfile" / "c1").mkdir(parents=True)
    (tmp_path / "stackfile" / "cgroup.subtree_control").write_text("memory\n")
    with pytest.raises(Unavailable, match="pids"):
        V2Cgroup(tmp_path, "c1").update(Resources(), Resources(pids_limit=5))
