"""``stackfile container ...`` end to end through the real CLI (subprocesses, a throwaway store root):
run/exit codes/flags, -d under a shim that survives the CLI, ls/logs/exec/inspect/stop/start/rm."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.runtime.linux.state import proc_start_time
from tests.conftest import container_store, needs_root
from tests.integration.runtime.rtsupport import cgroup_dirs, host_mounts_under

pytestmark = needs_root


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    yield from container_store("stackfile-cli-", sf)


def sf(root: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKFILE")}
    env["SF_TEST_VALUE"] = "from-host"
    argv = [sys.executable, "-m", "stackfile", "--root", str(root), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, **kw)  # type: ignore[call-overload]


def test_run_foreground_exit_code_flags_and_rm(root: Path) -> None:
    r = sf(root, "container", "run", "--rm", "-e", "A=1", "-e", "SF_TEST_VALUE", "-u", "nobody:staff",
           "-w", "/tmp", "--hostname", "h1", "busybox", "sh", "-c",
           "echo $A $SF_TEST_VALUE $(id -u) $(id -g) $(pwd) $(hostname); exit 5")
    assert r.returncode == 5, r.stderr
    assert r.stdout.split() == ["1", "from-host", "65534", "50", "/tmp", "h1"]
    assert sf(root, "container", "ls", "-a", "-q").stdout == ""


def test_run_mount_and_limit_flags(root: Path, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("host file\n")
    r = sf(root, "container", "run", "--rm", "-v", f"{tmp_path}:/h:ro", "--tmpfs", "/scratch:size=1m",
           "--sysctl", "net.ipv4.ip_forward=1", "--ulimit", "nofile=100:200", "--shm-size", "4m", "busybox",
           "sh", "-c", "cat /h/f; (touch /h/x) 2>/dev/null || echo ro; cat /proc/sys/net/ipv4/ip_forward; "
           "ulimit -n; df -k /scratch /dev/shm | tail -2 | awk '{print $2}'")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["host", "file", "ro", "1", "100", "1024", "4096"]


def test_run_errors(root: Path) -> None:
    r = sf(root, "container", "run", "--rm", "busybox", "no-such-command")
    assert r.returncode == 127 and "no-such-command" in r.stderr and "Traceback" not in r.stderr
    r = sf(root, "container", "run", "--rm", "-u", "nobody-here", "busybox", "true")
    assert r.returncode != 0 and "nobody-here" in r.stderr and "Traceback" not in r.stderr
    r = sf(root, "container", "run", "--rm", "--restart", "sometimes", "busybox", "true")
    assert r.returncode != 0 and "restart" in r.stderr
    assert sf(root, "container", "ls", "-a", "-q").stdout == ""


def test_detached_survives_the_cli_and_is_managed(root: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "stackfile", "--root", str(root), "container", "run", "-d",
                             "--name", "web", "-l", "tier=front", "busybox", "sh", "-c",
                             "echo ready; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    cid = proc.communicate(timeout=60)[0].strip()
    assert proc.returncode == 0 and len(cid) == 64
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI's whole process group
    except ProcessLookupError:
        pass
    info = json.loads(sf(root, "container", "inspect", "web").stdout)[0]
    assert info["State"] == "running" and info["Id"] == cid
    assert os.getsid(info["Pid"]) != proc.pid
    listed = json.loads(sf(root, "container", "ls", "--format=json", "--filter=label=tier=front").stdout)
    assert [c["Name"] for c in listed] == ["web"]
    assert sf(root, "container", "run", "-d", "--name", "web", "busybox", "true").returncode == 16  # conflict
    r = sf(root, "container", "exec", "-e", "X=2", "web", "sh", "-c", "echo $X; exit 3")
    assert r.returncode == 3 and r.stdout.strip() == "2"
    assert "sleep" in sf(root, "container", "top", "web").stdout
    assert sf(root, "container", "stop", "web").returncode == 0
    assert sf(root, "container", "logs", "web").stdout.split() == ["ready", "bye"]
    assert sf(root, "container", "wait", "web").stdout.strip() == "0"
    assert sf(root, "container", "start", "web").returncode == 0
    assert sf(root, "container", "logs", "--tail", "1", "web").stdout.split() == ["ready"]
    pid = json.loads(sf(root, "container", "inspect", cid[:8]).stdout)[0]["Pid"]
    assert sf(root, "container", "rm", "web").returncode != 0  # running: needs -f
    assert sf(root, "container", "rm", "-f", "web").returncode == 0
    assert not (root / "containers" / cid).exists() and cgroup_dirs(cid) == []
    assert host_mounts_under(root) == []
    assert proc_start_time(pid) == 0


def test_docker_spellings_and_digest_references_name_one_image(root: Path) -> None:
    """Issue 11 item 6: docker.io/library/busybox:latest, library/busybox, busybox and busybox:latest
    are one image, and busybox@<id> resolves."""
    for ref in ("docker.io/library/busybox:latest", "library/busybox", "busybox", "busybox:latest"):
        r = sf(root, "container", "run", "--rm", ref, "echo", ref)
        assert (r.returncode, r.stdout) == (0, f"{ref}\n"), r.stderr
    image_id = json.loads(sf(root, "image", "inspect", "busybox").stdout)[0]["Id"]
    assert json.loads(sf(root, "image", "inspect", "docker.io/library/busybox").stdout)[0]["Id"] == image_id
    r = sf(root, "container", "run", "--rm", f"busybox@{image_id}", "echo", "by-digest")
    assert (r.returncode, r.stdout) == (0, "by-digest\n"), r.stderr
    r = sf(root, "container", "run", "--rm", f"other@{image_id}", "true")
    assert r.returncode != 0 and "other@" in r.stderr and "Traceback" not in r.stderr
