"""What ``stats`` reads, from real containers: CPU time of a busy loop (cgroup v1 here, and the v2
reading on the kernel's unified hierarchy as the cgroup-v2 tests do), memory against the limit,
tasks, and the network counters of the container's own namespace."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from stackfile.engine.stats import containers_of, cpu_percent, stats
from stackfile.runtime.api import Resources
from stackfile.runtime.linux.cgroups import V2Cgroup, for_container
from stackfile.runtime.linux.usage import read_usage
from tests.conftest import needs_root
from tests.integration.runtime.rtsupport import Env

pytestmark = needs_root


def test_busy_container_shows_cpu_memory_limit_and_tasks(env: Env) -> None:
    busy = env.rt.create(env.spec("while :; do :; done", name="use-busy",
                                  resources=Resources(memory=48 << 20, cpus=0.5)))
    idle = env.rt.create(env.spec("sleep 300 & sleep 300 & wait", name="use-idle"))
    try:
        env.rt.start(busy)
        env.rt.start(idle)
        (sample,) = stats(env.rt, containers_of(env.rt, ["use-busy", "use-idle"]), interval=1.0, stream=False)
        by_name = {s.name: s for s in sample}
        hot, cold = by_name["use-busy"], by_name["use-idle"]
        # --cpus 0.5: the quota caps it at half a core (a loaded host may give it less)
        assert 5.0 < hot.cpu_percent < 60.0, hot
        assert cold.cpu_percent < 5.0, cold
        assert hot.memory_limit == 48 << 20 and 0 < hot.memory < 48 << 20
        assert hot.memory_percent == pytest.approx(hot.memory / (48 << 20) * 100)
        assert hot.pids == 1 and cold.pids == 3
        with open("/proc/meminfo") as fh:
            total = int(fh.readline().split()[1]) * 1024
        assert cold.memory_limit == total  # unlimited: the host's memory, as Docker shows
        assert (hot.net_rx, hot.net_tx) == (0, 0)  # network none: only lo, which is not counted
    finally:
        env.rt.remove(busy, force=True)
        env.rt.remove(idle, force=True)
    (after,) = stats(env.rt, containers_of(env.rt, [], all=True), interval=0.01, stream=False)
    assert busy not in {s.id for s in after}


def test_network_counters_are_the_containers_own(env: Env) -> None:
    """A privileged container pings over a veth pair of its own namespace (a static ARP entry, so
    the packets leave at once): what one end sends the other receives, and both are counted; the
    host's interfaces are not."""
    cid = env.rt.create(env.spec(
        "ip link add v0 type veth && ip addr add 10.89.250.1/24 dev v0 && ip link set v0 up && "
        "ip link set veth0 up && arp -s 10.89.250.2 02:00:00:00:00:02 && "
        "ping -c 3 -i 0.2 -s 1000 10.89.250.2 >/dev/null; sleep 300", name="use-net", privileged=True))
    try:
        env.rt.start(cid)
        deadline = time.monotonic() + 10
        while (usage := env.rt.usage(cid)).net_tx < 3 * 1042 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert 3 * 1042 <= usage.net_tx < 100_000, usage  # three 1000-byte pings in Ethernet frames
        assert usage.net_rx == usage.net_tx
    finally:
        env.rt.remove(cid, force=True)


UNIFIED = next((p for p in (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
                if (p / "cgroup.controllers").exists()), Path("/sys/fs/cgroup/unified"))


@pytest.mark.skipif(not (UNIFIED / "cgroup.procs").exists(), reason="no cgroup2 hierarchy mounted")
def test_v2_reading_on_the_unified_hierarchy() -> None:
    """``cpu.stat`` of a v2 cgroup (present without any controller) gives the CPU time; the tasks
    come from ``pids.current`` or ``cgroup.threads``; memory from ``memory.current`` or, where the
    controller is v1's, the processes' resident memory."""
    cg = for_container(f"test-{uuid.uuid4().hex[:12]}", UNIFIED)
    assert isinstance(cg, V2Cgroup)
    pid = os.fork()
    if pid == 0:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pass
        os._exit(0)
    try:
        cg.create(Resources())
        cg.attach(pid)
        before = read_usage(cg, pid)
        time.sleep(1.0)
        after = read_usage(cg, pid)
        usec = int(Path(cg.dirs()[0], "cpu.stat").read_text().split()[1])
        assert before.cpu_ns < after.cpu_ns <= usec * 1000
        assert 5.0 < cpu_percent(before, after) <= 105.0
        assert after.pids == 1
        assert 0 < after.memory <= after.memory_limit
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        for d in (Path(cg.dirs()[0]), UNIFIED / "stackfile"):
            with contextlib.suppress(OSError):
                d.rmdir()


# ``stats`` through the whole runtime on cgroup v2: cgroup2 mounted at /sys/fs/cgroup in a private
# mount namespace, as the cgroup-v2 lifecycle test does (tests/integration/runtime/test_rt_cgroup_v2.py).
USAGE_ON_V2 = """
import json, subprocess, sys, time
root, layer = sys.argv[1], sys.argv[2]
subprocess.run(["mount", "-t", "cgroup2", "none", "/sys/fs/cgroup"], check=True)
from stackfile.engine.stats import containers_of, stats
from stackfile.runtime.api import ContainerSpec, Process
from stackfile.runtime.linux import cgroups
from stackfile.runtime.linux.runtime import LinuxRuntime
from stackfile.store.paths import StorePaths
rt = LinuxRuntime(StorePaths.at(root).ensure())
cid = rt.create(ContainerSpec(name="v2use", layers=(layer,),
                              process=Process(argv=("sh", "-c", "sleep 1000 & while :; do :; done"))))
print(cid, flush=True)
rt.start(cid)
try:
    (sample,) = stats(rt, containers_of(rt, [cid]), interval=1.0, stream=False)
    usage = rt.usage(cid)
    d = cgroups.for_container(cid).dirs()[0]
    usec = int(open(d + "/cpu.stat").read().split()[1])
    print(json.dumps({"kind": type(cgroups.for_container(cid)).__name__, "cpu": sample[0].cpu_percent,
                      "pids": sample[0].pids, "memory": sample[0].memory, "limit": sample[0].memory_limit,
                      "cpu_ns": usage.cpu_ns, "usec": usec}), flush=True)
finally:
    rt.remove(cid, force=True)
"""


@pytest.mark.skipif(not (UNIFIED / "cgroup.procs").exists(), reason="no cgroup2 hierarchy mounted")
def test_stats_through_the_runtime_on_cgroup_v2() -> None:
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
    root = Path(tempfile.mkdtemp(prefix="stackfile-v2u-", dir="/var/tmp"))
    ids: list[str] = []
    try:
        layer = str(make_busybox_layer(root / "busybox"))
        proc = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, "-c", USAGE_ON_V2,
                               str(root), layer], capture_output=True, text=True, timeout=120,
                              cwd=Path(__file__).parents[3])
        lines = proc.stdout.splitlines()
        ids = [ln for ln in lines if len(ln) == 64]
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = json.loads(lines[-1])
        assert out["kind"] == "V2Cgroup"
        assert 20.0 < out["cpu"] <= 105.0 and out["pids"] == 2, out  # sh (the loop) and sleep
        assert 0 < out["cpu_ns"] <= out["usec"] * 1000 + 10**9  # cpu.stat's figure, in ns
        assert 0 < out["memory"] <= out["limit"]
    finally:
        for cid in ids:
            d = UNIFIED / "stackfile" / cid
            with contextlib.suppress(OSError):
                Path(d, "cgroup.kill").write_text("1")
                time.sleep(0.05)
                d.rmdir()
        clean_store_root(root)
        _unmount_below(root)
