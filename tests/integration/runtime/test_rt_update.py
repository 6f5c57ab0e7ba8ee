"""``Runtime.update`` and ``Runtime.rename`` on real containers: limits written to the live cgroup
in an order the kernel accepts (memory and memory+swap grow and shrink), kept in the record for
the next start (a stopped container's update applies when it starts; the restart policy's restart
rereads them), the name index moved, and a refused update that leaves the old limits."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from stackfile.errors import Conflict
from stackfile.runtime.api import Mount, Resources, RestartPolicy
from stackfile.runtime.linux import cgroups
from tests.conftest import needs_root
from tests.integration.runtime.rtsupport import Env

pytestmark = needs_root

V1 = isinstance(cgroups.for_container("x"), cgroups.V1Cgroup)


def _file(cid: str, v1: tuple[str, str], v2: str) -> str:
    cg = cgroups.for_container(cid)
    path = Path(cg.root, v1[0], "stackfile", cid, v1[1]) if V1 else Path(cg.root, "stackfile", cid, v2)
    return path.read_text().strip()


def _memory(cid: str) -> tuple[str, str]:
    return (_file(cid, ("memory", "memory.limit_in_bytes"), "memory.max"),
            _file(cid, ("memory", "memory.memsw.limit_in_bytes"), "memory.swap.max")
            if not V1 or os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") else "")


def test_memory_grows_and_shrinks_live(env: Env) -> None:
    cid = env.rt.create(env.spec("sleep 1000", resources=Resources(memory=100 << 20)))
    try:
        env.rt.start(cid)
        env.rt.update(cid, Resources(memory=300 << 20))  # above the old memory+swap: swap first
        assert _memory(cid)[0] == str(300 << 20)
        if V1 and _memory(cid)[1]:
            assert _memory(cid)[1] == str(600 << 20)
        env.rt.update(cid, Resources(memory=20 << 20, memory_swap=30 << 20))  # below: memory first
        memory, swap = _memory(cid)
        assert memory == str(20 << 20)
        if swap:  # v1: memory+swap; v2: the swap alone
            assert swap == str(30 << 20) if V1 else str(10 << 20)
        with pytest.raises(Conflict, match="refused"):
            env.rt.update(cid, Resources(memory=64 << 10))  # below what the shell uses: no reclaim
        assert _memory(cid)[0] == str(20 << 20)  # the old limits are back
        assert env.rt.spec_of(cid).resources.memory == 20 << 20  # and recorded
    finally:
        env.rt.remove(cid, force=True)


def test_stopped_update_applies_at_start_and_policy_restarts_reread(env: Env, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    cid = env.rt.create(env.spec("sleep 1000"))
    try:
        env.rt.update(cid, Resources(pids_limit=33))
        assert env.rt.spec_of(cid).resources.pids_limit == 33
        env.rt.start(cid)
        assert _file(cid, ("pids", "pids.max"), "pids.max") == "33"
        env.rt.remove(cid, force=True)

        # on-failure restarts happen inside the shim: each one rereads the recorded limits
        script = f"if [ -e {gate} ]; then sleep 1000; fi; touch {gate}; exit 1"
        cid = env.rt.create(env.spec(script, restart=RestartPolicy("on-failure"),
                                     mounts=(_bind(tmp_path),)))
        env.rt.update(cid, Resources(pids_limit=44))
        env.rt.start(cid)
        deadline = time.monotonic() + 10
        while env.rt.inspect(cid).restart_count < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        while env.rt.inspect(cid).state.value != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert env.rt.inspect(cid).restart_count == 1
        assert _file(cid, ("pids", "pids.max"), "pids.max") == "44"
    finally:
        env.rt.remove(cid, force=True)


def _bind(path: Path) -> Mount:
    return Mount("bind", str(path), str(path))


def test_rename_moves_the_name_index(env: Env) -> None:
    cid = env.rt.create(env.spec("sleep 1000", name="rt-old-name"))
    other = env.rt.create(env.spec("true", name="rt-taken-name"))
    try:
        env.rt.start(cid)
        env.rt.rename("rt-old-name", "rt-new-name")
        assert env.rt.inspect("rt-new-name").id == cid
        assert env.rt.inspect(cid).name == "rt-new-name" and env.rt.spec_of(cid).name == "rt-new-name"
        from stackfile.errors import NotFound

        with pytest.raises(NotFound):
            env.rt.inspect("rt-old-name")
        with pytest.raises(Conflict, match="already in use"):
            env.rt.rename(cid, "rt-taken-name")
        assert env.rt.inspect(cid).name == "rt-new-name"
        from stackfile.errors import InvalidSpec

        with pytest.raises(InvalidSpec, match="invalid container name"):
            env.rt.rename(cid, "bad/name")
        env.rt.restart(cid, timeout=0)
        assert env.rt.inspect("rt-new-name").state.value == "running"
        env.rt.create(env.spec("true", name="rt-old-name"))  # the old name is free again
    finally:
        for ref in (cid, other, "rt-old-name"):
            try:
                env.rt.remove(ref, force=True)
            except Exception:
                pass
