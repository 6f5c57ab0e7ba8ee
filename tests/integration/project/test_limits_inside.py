"""What a container sees of its limits and mounts, as under Docker: tmpfs mounts are
``nosuid,nodev,noexec`` unless asked otherwise, a tmpfs on an existing directory (the working
directory) keeps that directory's mode, and ``/sys/fs/cgroup`` shows the container's own
cgroup(s), read-only."""

from __future__ import annotations

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
