"""What a container sees of its limits and mounts, as under Docker: tmpfs mounts are
``nosuid,nodev,noexec`` unless asked otherwise, a tmpfs on an existing directory (the working
directory) keeps that directory's mode, and ``/sys/fs/cgroup`` shows the container's own
cgroup(s), read-only."""

from __future__ import annotations

import os

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

TMPFS = """
services:
  main:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    working_dir: /work
    tmpfs: [/work, /work/t, /other, "/app:mode=0700", "/e:exec,size=4m", "/s:suid,dev", "/r:ro"]
    volumes:
      - type: tmpfs
        target: /x
      - type: tmpfs
        target: /y
        tmpfs: {mode: 0750}
"""


def _sh(p: Project, script: str, check: bool = True) -> str:
    return p.sf("exec", "-T", "main", "sh", "-c", script, check=check).stdout


def _flags(mounts: str, target: str) -> set[str]:
    for line in mounts.splitlines():
        fields = line.split()
        if fields[1] == target and fields[2] == "tmpfs":
            return set(fields[3].split(","))
    raise AssertionError(f"no tmpfs at {target}:\n{mounts}")


def test_tmpfs_flags_and_modes_as_docker(project: Project) -> None:
    p = project
    p.write(TMPFS)
    p.sf("up", "-d")
    mounts = _sh(p, "cat /proc/mounts")
    for target in ("/work", "/work/t", "/other", "/app", "/x", "/y"):
        assert {"rw", "nosuid", "nodev", "noexec"} <= _flags(mounts, target), target
    assert {"nosuid", "nodev"} <= _flags(mounts, "/e") and "noexec" not in _flags(mounts, "/e")
    assert "noexec" in _flags(mounts, "/s") and not {"nosuid", "nodev"} & _flags(mounts, "/s")
    assert {"ro", "nosuid", "nodev", "noexec"} <= _flags(mounts, "/r")

    modes = _sh(p, "stat -c '%n %a' /work /work/t /other /app /x /y /e").split("\n")
    # the working directory existed (0755) before its tmpfs was mounted: Docker keeps that mode
    assert modes[:7] == ["/work 755", "/work/t 1777", "/other 1777", "/app 700", "/x 1777",
                         "/y 750", "/e 1777"]

    noexec = p.sf("exec", "-T", "main", "sh", "-c", "cp /bin/busybox /work/t/true && /work/t/true",
                  check=False)
    assert noexec.returncode != 0 and "Permission denied" in noexec.stderr
    assert _sh(p, "cp /bin/busybox /e/echo && /e/echo ran").strip() == "ran"


def test_bad_tmpfs_option_names_its_key(project: Project) -> None:
    p = project
    p.write(TMPFS.replace("/r:ro", "/r:bogus"))
    out = p.sf("up", "-d", check=False)
    assert out.returncode != 0 and "unknown tmpfs option 'bogus'" in out.stderr
    assert "services.main.tmpfs" in out.stderr and "Traceback" not in out.stderr


CGROUP = """
services:
  main:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 50
  plain:
    image: busybox
    init: true
    command: ["sleep", "1000"]
  priv:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    privileged: true
"""


def test_sys_fs_cgroup_shows_the_containers_own_cgroup_read_only(project: Project) -> None:
    p = project
    p.write(CGROUP)
    p.sf("up", "-d")
    own = dict(line.split(":", 2)[1:] for line in _sh(p, "cat /proc/self/cgroup").splitlines())
    mountinfo = _sh(p, "cat /proc/self/mountinfo")
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):  # cgroup v2 host
        assert _sh(p, "cat /sys/fs/cgroup/memory.max").strip() == str(64 << 20)
        assert _sh(p, "cat /sys/fs/cgroup/cpu.max").split() == ["50000", "100000"]
        assert _sh(p, "cat /sys/fs/cgroup/pids.max").strip() == "50"
        points = {"/sys/fs/cgroup": own[""]}
    else:  # v1 (this machine kind: hybrid): one read-only bind mount per hierarchy it is limited in
        assert set(_sh(p, "ls /sys/fs/cgroup").split()) >= {"memory", "cpu", "pids"}
        assert _sh(p, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes").strip() == str(64 << 20)
        assert _sh(p, "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us").strip() == "50000"
        assert _sh(p, "cat /sys/fs/cgroup/pids/pids.max").strip() == "50"
        points = {f"/sys/fs/cgroup/{c}": own[c] for c in ("memory", "cpu", "pids")}
        assert "cpu" not in _sh_in(p, "plain", "ls /sys/fs/cgroup").split()  # not limited: not there
    for point, path in points.items():
        fields = next(line.split() for line in mountinfo.splitlines() if line.split()[4] == point)
        # the container's own cgroup (its /proc/self/cgroup path), mounted read-only
        assert fields[3] == path and path.startswith("/stackfile/") and "ro" in fields[5].split(",")
    refused = p.sf("exec", "-T", "main", "sh", "-c", "echo 1 > /sys/fs/cgroup/pids/pids.max "
                   "|| echo 1 > /sys/fs/cgroup/pids.max", check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    after = _sh(p, "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max")
    assert after.strip() == "50"
    privileged = _sh_in(p, "priv", "cat /proc/self/mountinfo")  # Docker: read-write when privileged
    options = [ln.split()[5] for ln in privileged.splitlines() if ln.split()[4].startswith("/sys/fs/cgroup")]
    assert options and all("rw" in o.split(",") for o in options)


def _sh_in(p: Project, service: str, script: str) -> str:
    return p.sf("exec", "-T", service, "sh", "-c", script).stdout
