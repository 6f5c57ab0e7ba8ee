"""One detached container, many checks through exec: PID 1, hostname, mounts, processes, capabilities,
/proc hardening, cgroup limits and membership, exec exit codes/env/user, pause, top, rootfs_path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.runtime.api import ContainerState, ExecSpec, Resources
from stackfile.runtime.linux.errors import StartFailed
from tests.conftest import needs_root
from tests.integration.runtime.rtsupport import CGROUP_ROOT, Env, captured, cgroup_dirs, host_mounts_under

pytestmark = needs_root


@pytest.fixture(scope="module")
def box(env: Env) -> Iterator[str]:
    spec = env.spec("echo started; exec sleep 1000", name="box", hostname="boxhost",
                    resources=Resources(memory=64 << 20, cpus=0.5, pids_limit=64))
    cid = env.rt.create(spec)
    env.rt.start(cid)
    try:
        yield cid
    finally:
        env.rt.remove(cid, force=True)
        assert not cgroup_dirs(cid)
        assert not (env.paths.container(cid)).exists()


def sh(e: Env, cid: str, script: str, **kw: object) -> tuple[int, str]:
    with captured() as out:
        code = e.rt.exec(cid, ExecSpec(argv=("sh", "-c", script), **kw))  # type: ignore[arg-type]
    return code, out[0]


def test_pid1_is_the_command_and_host_processes_are_invisible(env: Env, box: str) -> None:
    code, out = sh(env, box, "cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /proc | grep -c '^[0-9]'")
    cmdline, count = out.splitlines()
    assert code == 0
    assert cmdline.strip() == "sleep 1000"
    assert int(count) <= 4  # sleep, sh, ls/grep: nothing of the host's hundreds of processes
    assert str(os.getpid()) not in sh(env, box, "ls /proc")[1].split()


def test_hostname(env: Env, box: str) -> None:
    assert sh(env, box, "hostname; cat /etc/hostname")[1].split() == ["boxhost", "boxhost"]


def test_no_host_mount_points_in_mountinfo(env: Env, box: str) -> None:
    _, out = sh(env, box, "cat /proc/self/mountinfo")
    points = [line.split()[4] for line in out.splitlines()]
    assert "/" in points and "/proc" in points and "/dev/pts" in points
    for point in points:
        assert not point.startswith(("/var/tmp", "/work", "/root", "/home")), point
    for line in out.splitlines():  # under /sys/fs/cgroup: only the container's own cgroups (Docker's view)
        fields = line.split()
        if fields[4].startswith("/sys/fs/cgroup"):
            fstype = fields[fields.index("-") + 1]
            own = fstype in ("cgroup", "cgroup2") and fields[3].startswith("/stackfile/")
            assert own or (fstype == "tmpfs" and fields[4] == "/sys/fs/cgroup"), line
    root_line = next(ln for ln in out.splitlines() if ln.split()[4] == "/")
    assert "lowerdir=busybox" in root_line or "lowerdir=../" not in root_line
    assert str(env.paths.root) not in root_line  # relative overlay options: no host path


def test_no_sys_admin_and_mount_fails(env: Env, box: str) -> None:
    _, out = sh(env, box, "grep CapEff /proc/self/status; mkdir -p /mnt; mount -t tmpfs x /mnt; echo rc=$?")
    cap_eff = int(out.split("CapEff:")[1].split()[0], 16)
    assert not cap_eff >> 21 & 1  # CAP_SYS_ADMIN
    assert cap_eff == 0xA80425FB  # Docker's default set
    assert "rc=0" not in out


def test_proc_sys_read_only_and_masked_paths(env: Env, box: str) -> None:
    _, out = sh(env, box, "(echo 1 > /proc/sys/vm/drop_caches) 2>/dev/null && echo WROTE; "
                          "echo keys=$(wc -c < /proc/keys) timers=$(wc -c < /proc/timer_list) "
                          "acpi=$(ls /proc/acpi | wc -l) "
                          "firmware=$(ls /sys/firmware | wc -l); "
                          "touch /sys/x 2>/dev/null && echo SYSRW; grep NoNewPrivs /proc/self/status; "
                          "grep 'Seccomp:' /proc/self/status; unshare -U true 2>/dev/null || echo NO-USERNS")
    assert "WROTE" not in out and "SYSRW" not in out
    assert "keys=0 timers=0 acpi=0 firmware=0" in out
    assert out.split("NoNewPrivs:")[1].split()[0] == "1"
    assert out.split("Seccomp:")[1].split()[0] == "2" and "NO-USERNS" in out  # filter mode, exec too


def test_cgroup_limits_written_and_exec_joins_cgroups(env: Env, box: str) -> None:
    dirs = {d.parent.parent.name: d for d in cgroup_dirs(box)}
    if "cpu" in dirs:  # v1
        assert (dirs["cpu"] / "cpu.cfs_quota_us").read_text().strip() == "50000"
        assert (dirs["memory"] / "memory.limit_in_bytes").read_text().strip() == str(64 << 20)
        assert (dirs["pids"] / "pids.max").read_text().strip() == "64"
    else:
        v2 = CGROUP_ROOT / "stackfile" / box
        assert (v2 / "cpu.max").read_text().split() == ["50000", "100000"]
    _, out = sh(env, box, "cat /proc/self/cgroup")
    membership = {ln.split(":")[1] or "unified": ln.split(":", 2)[2] for ln in out.splitlines()}
    for d in dirs.values():  # the exec'd process is in the container's cgroup of every hierarchy used
        controller = d.parent.parent.name if d.parent.parent != CGROUP_ROOT else "unified"
        assert membership[controller] == f"/stackfile/{box}", (controller, out)
    rows = env.rt.top(box)
    assert "sleep 1000" in [r["CMD"] for r in rows]  # PID 1, found through the cgroup
    for row in rows:  # and top lists nothing outside it
        assert f"/stackfile/{box}" in Path(f"/proc/{row['PID']}/cgroup").read_text(), row


def test_exec_exit_codes_env_user_workdir(env: Env, box: str) -> None:
    assert sh(env, box, "exit 7")[0] == 7
    code, out = sh(env, box, "echo $FOO:$HOSTNAME; id -u; pwd", env={"FOO": "bar"}, user="app", cwd="/tmp")
    assert code == 0
    assert out.split() == ["bar:boxhost", "1000", "/tmp"]
    with pytest.raises(StartFailed) as err:
        env.rt.exec(box, ExecSpec(argv=("no-such-program",)))
    assert err.value.code == 127
    assert sh(env, box, "grep CapEff /proc/self/status", user="app")[1].split()[1] == "0" * 16
    code, out = sh(env, box, "tty; exit 2", tty=True)
    assert code == 2 and out.split() == ["/dev/pts/0"]


def test_pause_unpause_top_rootfs(env: Env, box: str) -> None:
    from stackfile.errors import Conflict

    env.rt.pause(box)
    try:
        assert env.rt.inspect(box).state is ContainerState.PAUSED
        with pytest.raises(Conflict, match="paused"):
            env.rt.exec(box, ExecSpec(argv=("true",)))
    finally:
        env.rt.unpause(box)
    assert env.rt.inspect(box).state is ContainerState.RUNNING
    top = env.rt.top(box)
    assert [p["CMD"] for p in top] == ["sleep 1000"]
    root = env.rt.rootfs_path(box)
    with open(os.path.join(root, "etc/hostname")) as fh:
        assert fh.read().strip() == "boxhost"
    assert env.rt.upper_dir(box).startswith(str(env.paths.root))
    assert (env.paths.container(box) / "config.json").stat().st_mode & 0o077 == 0  # env may hold secrets
    assert [line.text for line in env.rt.logs(box)] == ["started"]


def test_names_are_unique_and_refs_resolve(env: Env, box: str) -> None:
    from stackfile.errors import Conflict

    with pytest.raises(Conflict):
        env.rt.create(env.spec("true", name="box"))
    assert env.rt.inspect("box").id == box
    assert env.rt.inspect(box[:10]).id == box
    assert [s.id for s in env.rt.list()] == [box]
    assert host_mounts_under(env.paths.root) == []  # container mounts live in its namespace only
