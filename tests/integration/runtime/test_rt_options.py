"""ContainerSpec options with real containers: mounts, read-only root, sysctls, ulimits, shm size,
capabilities, privileged, network modes, tty logs, detached exec, restart keeping the upper dir."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.runtime.api import ExecSpec, Mount, NetworkAttachment, Process
from tests.conftest import needs_root
from tests.integration.runtime.rtsupport import Env, captured

pytestmark = needs_root


def fg(env: Env, script: str, **kw: object) -> tuple[int, str]:
    with captured() as out:
        code = env.rt.run_attached(env.spec(script, auto_remove=True, **kw))
    return code, out[0]


def test_mounts_and_read_only_root(env: Env, tmp_path: Path) -> None:
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "f").write_text("x")
    code, out = fg(env, "echo hi > /data/new && echo RW; (echo no > /conf/f) 2>/dev/null || echo RO-BIND; "
                        "grep ' /scratch ' /proc/self/mountinfo | grep -c size=1024k; "
                        "(touch /root/x) 2>/dev/null || echo RO-ROOT; touch /tmp2/ok && echo TMPFS-RW",
                   read_only=True,
                   mounts=(Mount("bind", "/data", str(rw)), Mount("volume", "/conf", str(ro), read_only=True),
                           Mount("tmpfs", "/scratch", tmpfs_size=1 << 20), Mount("tmpfs", "/tmp2")))
    assert code == 0
    assert out.split() == ["RW", "RO-BIND", "1", "RO-ROOT", "TMPFS-RW"]
    assert (rw / "new").read_text() == "hi\n"


def test_sysctls_ulimits_shm_workdir(env: Env) -> None:
    script = ("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni; ulimit -n; "
              "grep ' /dev/shm ' /proc/self/mountinfo | grep -o 'size=[0-9a-z]*'; pwd")
    code, out = fg(env, script, process=Process(argv=("sh", "-c", script), cwd="/new/work/dir"),
                   sysctls={"net.ipv4.ip_forward": "1", "kernel.shmmni": "1000"},
                   ulimits={"nofile": (512, 1024)}, shm_size=8 << 20)
    assert code == 0
    assert out.split() == ["1", "1000", "512", "size=8192k", "/new/work/dir"]


def test_host_sysctl_refused(env: Env) -> None:
    from stackfile.errors import InvalidSpec

    with pytest.raises(InvalidSpec, match=r"vm\.swappiness"):
        env.rt.create(env.spec("true", sysctls={"vm.swappiness": "1"}))


def test_capabilities_and_privileged(env: Env) -> None:
    _, out = fg(env, "grep -E 'Cap(Eff|Bnd)' /proc/self/status", cap_drop=("ALL",), cap_add=("NET_ADMIN",))
    assert out.split() == ["CapEff:", f"{1 << 12:016x}", "CapBnd:", f"{1 << 12:016x}"]
    _, out = fg(env, "grep CapEff /proc/self/status; grep -c NoNewPrivs:.0 /proc/self/status; "
                     "ls /proc/acpi | wc -l", privileged=True)
    lines = out.split()
    host = Path("/proc/self/status").read_text().splitlines()
    assert lines[1] == next(ln for ln in host if ln.startswith("CapEff")).split()[1]  # all the host holds
    assert lines[2] == "1"  # no no_new_privs
    _, out = fg(env, "grep 'Seccomp:' /proc/self/status; unshare -U true && echo USERNS", seccomp=False)
    assert out.split() == ["Seccomp:", "0", "USERNS"]
    script = "grep CapEff /proc/self/status"
    as_app = Process(argv=("sh", "-c", script), user="app")
    _, out = fg(env, script, process=as_app, cap_add=("NET_BIND_SERVICE",))
    assert out.split()[1] == f"{1 << 10:016x}"  # non-root: only the added capability, as ambient


def test_network_none_and_host(env: Env) -> None:
    _, out = fg(env, "cat /proc/net/dev | tail -n +3 | cut -d: -f1; ip link show lo | grep -c UP")
    assert out.split() == ["lo", "1"]
    _, out = fg(env, "readlink /proc/self/ns/net", network=NetworkAttachment("host"))
    assert out.strip() == os.readlink("/proc/self/ns/net")


@pytest.fixture()
def netns() -> Iterator[str]:
    name = f"sfrt-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        link = ["link", "add", "sfdummy0", "type", "veth", "peer", "name", "sfpeer0"]
        subprocess.run(["ip", "-n", name, *link], check=True)
        yield f"/run/netns/{name}"
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def test_network_path_and_container(env: Env, netns: str) -> None:
    _, out = fg(env, "grep -c sfdummy0 /proc/net/dev", network=NetworkAttachment("path", netns_path=netns))
    assert out.split() == ["1"]
    first = env.rt.create(env.spec("sleep", "100", network=NetworkAttachment("path", netns_path=netns)))
    env.rt.start(first)
    try:
        _, out = fg(env, "cat /proc/net/dev | grep -c sfdummy0",
                    network=NetworkAttachment("container", container_id=first))
        assert out.split() == ["1"]
    finally:
        env.rt.remove(first, force=True)


def test_tty_logs_detached_exec_and_restart_keeps_upper(env: Env) -> None:
    script = "tty | grep -q /dev/pts/0 && echo TTY; echo x >> /count; wc -l < /count; exec sleep 100"
    process = Process(argv=("sh", "-c", script), tty=True)
    cid = env.rt.create(env.spec("", process=process, stop_grace_seconds=0.2))
    env.rt.start(cid)
    try:
        assert env.rt.exec(cid, ExecSpec(argv=("sh", "-c", "sleep 0.2; touch /marker"), detach=True)) == 0
        import time

        time.sleep(0.5)
        env.rt.restart(cid, timeout=0.2)
        time.sleep(0.3)
        texts = [line.text.strip() for line in env.rt.logs(cid)]
        assert texts == ["TTY", "1", "TTY", "2"]
        assert (Path(env.rt.upper_dir(cid)) / "marker").exists()
    finally:
        env.rt.remove(cid, force=True)


def test_foreground_tty_is_a_pty_of_the_container(env: Env) -> None:
    script = "tty; echo out; exit 4"
    code, out = fg(env, script, process=Process(argv=("sh", "-c", script), tty=True))
    assert code == 4
    assert out.split() == ["/dev/pts/0", "out"]
