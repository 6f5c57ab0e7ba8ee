"""The cgroup v2 code path on the kernel's unified hierarchy (``/sys/fs/cgroup/unified`` on a hybrid
host like CI's, ``/sys/fs/cgroup`` on a pure-v2 one): the Cgroup class alone (create, attach, list
pids, freeze/thaw, kill, remove), then the whole runtime with cgroup2 mounted at /sys/fs/cgroup in
a private mount namespace, with and without a cgroup namespace. On CI the memory/cpu/pids
controllers are bound to v1, so a limit must fail cleanly; where the hierarchy has them, the
limits are checked in the kernel's files instead. docs/cgroups.md explains what CI cannot test."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from stackfile.runtime.api import Resources
from stackfile.runtime.linux.cgroups import V2Cgroup, for_container
from tests.conftest import needs_root

UNIFIED = next((p for p in (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
                if (p / "cgroup.controllers").exists()), Path("/sys/fs/cgroup/unified"))
pytestmark = [needs_root, pytest.mark.skipif(not (UNIFIED / "cgroup.procs").exists(),
                                             reason="no cgroup2 hierarchy mounted (hybrid or pure v2)")]


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_v2_lifecycle_on_the_unified_hierarchy() -> None:
    cg = for_container(f"test-{uuid.uuid4().hex[:12]}", UNIFIED)
    assert isinstance(cg, V2Cgroup)
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    try:
        cg.create(Resources())
        cg.attach(pid)
        assert cg.pids() == [pid]
        assert f"0::/stackfile/{cg.id}" in Path(f"/proc/{pid}/cgroup").read_text()
        cg.freeze()
        assert (Path(cg.dirs()[0]) / "cgroup.events").read_text().split("frozen ")[1][0] == "1"
        cg.thaw()
        assert cg.oom_kills() == 0
        cg.kill_all()
        _, status = os.waitpid(pid, 0)
        assert os.WTERMSIG(status) == signal.SIGKILL
        cg.remove()
        assert not Path(cg.dirs()[0]).exists()
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        for d in (Path(cg.dirs()[0]), UNIFIED / "stackfile"):  # the parent only if nothing else uses it
            try:
                d.rmdir()
            except OSError:
                pass


# The whole runtime on cgroup v2: a private mount namespace sees cgroup2 at /sys/fs/cgroup (the v1
# hierarchies are only hidden there), so ``for_container`` picks V2Cgroup as on a pure-v2 host. With
# ``nsroot`` the script first moves into a fresh cgroup and unshares the cgroup namespace, so that
# cgroup is the mount's root: stackfile running inside a container or a delegated systemd unit.
RUNTIME_ON_V2 = """
import json, os, subprocess, sys
from pathlib import Path
root, layer = sys.argv[1], sys.argv[2]
subprocess.run(["mount", "-t", "cgroup2", "none", "/sys/fs/cgroup"], check=True)
from stackfile.errors import StackfileError
from stackfile.runtime.api import ContainerSpec, ExecSpec, Process, Resources
from stackfile.runtime.linux import cgroups
from stackfile.runtime.linux.runtime import LinuxRuntime
from stackfile.store.paths import StorePaths
rt = LinuxRuntime(StorePaths.at(root).ensure())
out = {}
cid = rt.create(ContainerSpec(name="v2", layers=(layer,), process=Process(argv=("sleep", "1000"))))
print(cid, flush=True)
rt.start(cid)
cg = cgroups.for_container(cid)
out["kind"], out["dirs"] = type(cg).__name__, cg.dirs()
pid1 = rt.inspect(cid).pid
out["pid1_in_cgroup"] = cg.pids() == [pid1]
out["pid1_cgroup"] = Path(f"/proc/{pid1}/cgroup").read_text().splitlines()[-1]
out["top"] = [r["CMD"] for r in rt.top(cid)]
out["exec"] = rt.exec(cid, ExecSpec(argv=("sh", "-c", "cat /proc/self/cgroup > /tmp/cg")))
out["exec_cgroup"] = Path(rt.rootfs_path(cid), "tmp/cg").read_text().splitlines()[-1]
rt.pause(cid)
out["paused"] = (rt.inspect(cid).state.value, Path(cg.dirs()[0], "cgroup.events").read_text().split())
rt.unpause(cid)
out["unpaused"] = (rt.inspect(cid).state.value, Path(cg.dirs()[0], "cgroup.events").read_text().split())
rt.stop(cid, timeout=0.5)  # PID 1 ignores SIGTERM: the stop ends with cgroup.kill
st = rt.inspect(cid)
out["stopped"] = (st.state.value, st.exit_code, os.path.exists(f"/proc/{pid1}"))
rt.remove(cid)
out["removed"] = os.path.exists(cg.dirs()[0])
out["controllers"] = Path("/sys/fs/cgroup/cgroup.controllers").read_text().split()
limited = rt.create(ContainerSpec(name="v2m", layers=(layer,), process=Process(argv=("sleep", "1000")),
                                  resources=Resources(memory=64 << 20, pids_limit=20)))
print(limited, flush=True)
try:
    rt.start(limited)
    out["limit"] = "started"
    d = cgroups.for_container(limited).dirs()[0]
    out["limit_files"] = [Path(d, f).read_text().strip() for f in ("memory.max", "pids.max")]
    rt.remove(limited, force=True)
except StackfileError as exc:
    out["limit"] = exc.message
    out["limit_cgroup_left"] = os.path.exists(cgroups.for_container(limited).dirs()[0])  # a failed start
    rt.remove(limited, force=True)
out.setdefault("limit_cgroup_left", os.path.exists(cgroups.for_container(limited).dirs()[0]))
print(json.dumps(out), flush=True)
"""


@pytest.mark.parametrize("in_cgroupns", [False, True], ids=["host-root", "cgroup-namespace"])
def test_runtime_lifecycle_on_cgroup_v2(in_cgroupns: bool) -> None:
    """Create, start, exec, top, pause, unpause, stop (cgroup.kill) and remove, on the kernel's v2
    hierarchy. Where the memory/pids controllers are bound to v1 (CI) a limit must fail cleanly,
    naming the missing controller (docs/cgroups.md); where v2 has them, the limit files are checked."""
    import json
    import shutil
    import subprocess
    import sys
    import tempfile

    from tests.conftest import _unmount_below
    from tests.support.busybox import make_busybox_layer
    from tests.support.cleanup import clean_store_root

    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    root = Path(tempfile.mkdtemp(prefix="stackfile-v2-", dir="/var/tmp"))
    nsroot = UNIFIED / f"stackfile-test-{uuid.uuid4().hex[:12]}"
    base = nsroot if in_cgroupns else UNIFIED
    ids: list[str] = []
    try:
        layer = str(make_busybox_layer(root / "busybox"))
        argv = ["unshare", "-m", "--propagation", "private", sys.executable, "-c", RUNTIME_ON_V2,
                str(root), layer]
        if in_cgroupns:  # join a fresh cgroup, then make it the root of a new cgroup namespace
            nsroot.mkdir()
            argv = ["sh", "-c", f'echo $$ > {nsroot}/cgroup.procs && exec unshare -C "$@"', "sh", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                              cwd=Path(__file__).parents[3])
        lines = proc.stdout.splitlines()
        ids = [ln for ln in lines if len(ln) == 64]
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = json.loads(lines[-1])
        cid = ids[0]
        assert out["kind"] == "V2Cgroup" and out["dirs"] == [f"/sys/fs/cgroup/stackfile/{cid}"]
        assert out["pid1_in_cgroup"] and out["pid1_cgroup"] == f"0::/stackfile/{cid}"
        assert out["top"] == ["sleep 1000"]
        assert out["exec"] == 0 and out["exec_cgroup"] == f"0::/stackfile/{cid}"
        assert out["paused"] == ["paused", ["populated", "1", "frozen", "1"]]
        assert out["unpaused"] == ["running", ["populated", "1", "frozen", "0"]]
        assert out["stopped"] == ["exited", 137, False]
        assert out["removed"] is False
        if {"memory", "pids"} <= set(out["controllers"]):  # a pure-v2 host: the kernel takes the limits
            assert out["limit"] == "started" and out["limit_files"] == [str(64 << 20), "20"], out
        else:  # CI's hybrid host: the controllers are v1's
            assert out["limit"].startswith("cannot set the memory/pids limit: the cgroup v2 hierarchy"), out
        assert out["limit_cgroup_left"] is False
        assert not (base / "stackfile" / cid).exists() and not (base / "stackfile" / ids[1]).exists()
    finally:
        for cid in ids:
            for d in (base / "stackfile" / cid,):
                with contextlib.suppress(OSError):
                    Path(d, "cgroup.kill").write_text("1")
                    time.sleep(0.05)
                    d.rmdir()
        clean_store_root(root)
        _unmount_below(root)
        if in_cgroupns:
            for d in (nsroot / "stackfile", nsroot):
                with contextlib.suppress(OSError):
                    d.rmdir()
