"""Commands that change a live stack, on real containers, cgroups and veths: ``container update``
(the cgroup now, and after a restart), ``container rename`` (the DNS name follows), ``network
connect|disconnect`` (a veth in and out of a running container, names in the DNS), ``scale``
(Compose's numbering), ``create`` and ``container create`` (nothing started), ``attach``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """
services:
  a:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    networks: [front]
  b:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    networks: [back]
networks:
  front: {}
  back: {}
"""


def _sh(p: Project, service: str, script: str, check: bool = True) -> str:
    return p.sf("exec", "-T", service, "sh", "-c", script, check=check).stdout


def _resolve(p: Project, service: str, name: str) -> list[str]:
    out = _sh(p, service, f"nslookup {name} || true")
    answer = out.split("Name:", 1)[1] if "Name:" in out else ""
    return re.findall(r"Address:\s*([0-9.]+)\s*$", answer, re.M)


def _inspect(p: Project, ref: str) -> dict[str, object]:
    data: list[dict[str, object]] = json.loads(p.sf("container", "inspect", ref).stdout)
    return data[0]


def _cgroup(cid: str, v1: tuple[str, str], v2: str) -> str:
    """A file of the container's cgroup: v1 (controller, file) or the v2 file name."""
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():
        return (root / "stackfile" / cid / v2).read_text().strip()
    return (root / v1[0] / "stackfile" / cid / v1[1]).read_text().strip()


def _limits(cid: str) -> dict[str, str]:
    return {"memory": _cgroup(cid, ("memory", "memory.limit_in_bytes"), "memory.max"),
            "cpu": _cgroup(cid, ("cpu", "cpu.cfs_quota_us"), "cpu.max").split()[0],
            "pids": _cgroup(cid, ("pids", "pids.max"), "pids.max")}


def test_update_applies_to_the_running_cgroup_and_survives_a_restart(project: Project) -> None:
    p = project
    p.write(STACK)
    p.sf("up", "-d", "a")
    name = f"{p.name}-a-1"
    cid = str(_inspect(p, name)["Id"])
    pids_before = set(_cgroup(cid, ("memory", "cgroup.procs"), "cgroup.procs").split())
    p.sf("container", "update", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "50",
         "--cpu-shares", "512", name)
    want = {"memory": str(64 << 20), "cpu": "50000", "pids": "50"}
    assert _limits(cid) == want
    # the container's processes moved into the cpu and pids cgroups it had none in before
    assert set(_cgroup(cid, ("pids", "cgroup.procs"), "cgroup.procs").split()) == pids_before
    inside = _sh(p, "a", "cat /proc/self/cgroup")
    assert f"stackfile/{cid}" in inside
    resources = _inspect(p, name)["Config"]["resources"]  # type: ignore[index]
    assert resources["memory"] == 64 << 20 and resources["cpus"] == 0.5 and resources["pids_limit"] == 50
    assert resources["cpu_shares"] == 512

    p.sf("restart", "a")
    assert _inspect(p, name)["State"] == "running"
    assert _limits(cid) == want  # recorded: the new cgroup of the restart has them
    p.sf("container", "update", "--pids-limit", "-1", "--cpus", "0", name)
    after = _limits(cid)
    assert after["pids"] == "max" and after["cpu"] in ("-1", "max") and after["memory"] == str(64 << 20)

    bad = p.sf("container", "update", "--memory", "1k", name, check=False)
    assert bad.returncode != 0 and "6MB" in bad.stderr and "Traceback" not in bad.stderr
    nothing = p.sf("container", "update", name, check=False)
    assert nothing.returncode != 0 and "one or more flags" in nothing.stderr
    swap = p.sf("container", "update", "--memory-swap", "32m", name, check=False)
    assert swap.returncode != 0 and "memoryswap" in swap.stderr
    assert _limits(cid)["memory"] == str(64 << 20)  # a refused update changed nothing


def test_rename_moves_the_dns_name_and_survives_a_restart(project: Project) -> None:
    p = project
    p.write(STACK.replace("    networks: [back]\n", "    networks: [front]\n"))
    p.sf("up", "-d")
    old = f"{p.name}-a-1"
    ip = _resolve(p, "b", old)
    assert len(ip) == 1
    from stackfile.network.manager import NetworkManager
    from stackfile.network.model import Attachment
    from stackfile.store.paths import StorePaths

    # a sandbox left under the new name by a crashed run (no container has the name) gives way
    NetworkManager(StorePaths.at(p.root)).create_sandbox("renamed-a", [Attachment(f"{p.name}_front")])
    p.sf("container", "rename", old, "renamed-a")
    assert _resolve(p, "b", "renamed-a") == ip
    assert _resolve(p, "b", old) == []
    assert "1 packets received" in _sh(p, "b", "ping -c 1 -W 2 renamed-a")
    assert "renamed-a" in p.ps()
    taken = p.sf("container", "rename", "renamed-a", f"{p.name}-b-1", check=False)
    assert taken.returncode != 0 and "already in use" in taken.stderr
    p.sf("container", "restart", "renamed-a")
    assert _resolve(p, "b", "renamed-a") == ip
    assert "1 packets received" in _sh(p, "b", "ping -c 1 -W 2 renamed-a")
    assert (p.root / "netns" / "renamed-a").exists() and not (p.root / "netns" / old).exists()
    p.sf("down", "-t", "1")
    assert p.sf("container", "ls", "-a", "-q").stdout.strip() == ""
    assert sorted(x.name for x in (p.root / "netns").iterdir()) == []  # the moved namespace went too


def test_network_connect_and_disconnect_a_running_container(project: Project) -> None:
    p = project
    p.write(STACK)
    p.sf("up", "-d")
    a, back = f"{p.name}-a-1", f"{p.name}_back"
    assert _resolve(p, "b", a) == []  # a is on front only
    p.sf("network", "connect", "--alias", "extra", back, a)
    links = _sh(p, "a", "ip -o -4 addr show")
    assert "eth1" in links
    addr = re.search(r"eth1\s+inet ([0-9.]+)/", links)
    assert addr is not None
    assert _resolve(p, "b", a) == [addr.group(1)] == _resolve(p, "b", "extra")
    assert "1 packets received" in _sh(p, "b", "ping -c 1 -W 2 extra")
    assert "1 packets received" in _sh(p, "a", f"ping -c 1 -W 2 {p.name}-b-1")
    assert f"{addr.group(1)}\t{a}\n" in _sh(p, "a", "cat /etc/hosts")  # its new address, as Docker
    members = json.loads(p.sf("network", "inspect", back).stdout)[0]["Containers"]
    assert members[a]["IPv4Address"] == f"{addr.group(1)}/24" and "extra" in members[a]["Aliases"]
    nets = _inspect(p, a)["NetworkSettings"]["Networks"]  # type: ignore[index]
    assert sorted(nets) == sorted([f"{p.name}_front", back]) and nets[back]["IPAddress"] == addr.group(1)
    again = p.sf("network", "connect", back, a, check=False)
    assert again.returncode != 0 and "already connected" in again.stderr

    p.sf("restart", "a")  # recorded: the restarted container is still on both networks
    assert _resolve(p, "b", "extra") == [addr.group(1)]
    assert "1 packets received" in _sh(p, "b", "ping -c 1 -W 2 extra")

    p.sf("network", "disconnect", back, a)
    assert "eth1" not in _sh(p, "a", "ip -o -4 addr show")
    assert addr.group(1) not in _sh(p, "a", "cat /etc/hosts")
    assert _resolve(p, "b", "extra") == []
    assert a not in json.loads(p.sf("network", "inspect", back).stdout)[0]["Containers"]
    assert list(_inspect(p, a)["NetworkSettings"]["Networks"]) == [f"{p.name}_front"]  # type: ignore[index]
    missing = p.sf("network", "disconnect", back, a, check=False)
    assert missing.returncode != 0 and "not connected" in missing.stderr
    fixed = p.sf("network", "connect", "--ip", "10.89.250.77", back, a, check=False)
    assert fixed.returncode != 0 and "Traceback" not in fixed.stderr  # outside the network's subnet
    p.sf("network", "connect", "--ip", _subnet_host(p, back, 200), back, a)  # a fixed address in it
    assert f"inet {_subnet_host(p, back, 200)}/24" in _sh(p, "a", "ip -o -4 addr show eth1")
    nope = p.sf("network", "connect", back, "no-such-container", check=False)
    assert nope.returncode != 0 and "no such container" in nope.stderr
    solo = f"{p.name}-solo"
    p.sf("container", "run", "-d", "--name", solo, "busybox", "sleep", "1000")
    try:
        isolated = p.sf("network", "connect", back, solo, check=False)
        assert isolated.returncode != 0 and "network mode 'none'" in isolated.stderr
    finally:
        p.sf("container", "rm", "-f", solo)


def _subnet_host(p: Project, network: str, n: int) -> str:
    subnet = json.loads(p.sf("network", "inspect", network).stdout)[0]["Subnet"]
    return subnet.rsplit(".", 1)[0] + f".{n}"


def test_scale_numbers_new_replicas_after_the_highest_kept(project: Project) -> None:
    p = project
    p.write(STACK)
    p.sf("up", "-d", "a")
    p.sf("up", "-d", "a")  # a no-op, remembered for the fast path
    p.sf("scale", "a=3")
    assert sorted(p.ps("a")) == [f"{p.name}-a-{n}" for n in (1, 2, 3)]
    p.sf("container", "rm", "-f", f"{p.name}-a-2")
    p.sf("scale", "a=3")
    assert sorted(p.ps("a")) == [f"{p.name}-a-{n}" for n in (1, 3, 4)]
    assert all(r["State"] == "running" for r in p.ps("a").values())
    p.sf("up", "-d", "a")  # as Compose: up goes back to the file's replicas (no stale no-op answer)
    assert list(p.ps("a")) == [f"{p.name}-a-1"]
    p.sf("scale", "a=2")
    p.sf("scale", "a=1")
    assert list(p.ps("a")) == [f"{p.name}-a-1"]
    bad = p.sf("scale", "a=two", check=False)
    assert bad.returncode == 2 and "SERVICE=REPLICAS" in bad.stderr
    unknown = p.sf("scale", "nosuch=2", check=False)
    assert unknown.returncode != 0 and "no such service" in unknown.stderr


def test_create_makes_containers_without_starting_them(project: Project) -> None:
    p = project
    p.write(STACK)
    p.sf("create")
    rows = p.ps()
    assert sorted(rows) == [f"{p.name}-a-1", f"{p.name}-b-1"]
    assert {r["State"] for r in rows.values()} == {"created"}
    p.sf("start")
    assert {r["State"] for r in p.ps().values()} == {"running"}

    cid = p.sf("container", "create", "--name", f"{p.name}-solo", "--memory", "32m", "busybox",
               "sh", "-c", "echo made; sleep 1000").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert _inspect(p, f"{p.name}-solo")["State"] == "created"
    p.sf("container", "start", f"{p.name}-solo")
    assert _inspect(p, f"{p.name}-solo")["State"] == "running"
    assert _cgroup(cid, ("memory", "memory.limit_in_bytes"), "memory.max") == str(32 << 20)
    p.sf("container", "rm", "-f", f"{p.name}-solo")


def _cli(p: Project) -> list[str]:
    return [sys.executable, "-m", "stackfile", "--root", str(p.root), "-p", p.name, "-f",
            str(p.workdir / "stack.yaml")]


def test_attach_follows_output_and_returns_the_exit_code(project: Project) -> None:
    p = project
    p.write(STACK)
    name = f"{p.name}-talk"
    p.sf("container", "run", "-d", "--name", name, "busybox", "sh", "-c",
         "echo before; sleep 1; for i in 1 2 3; do echo line$i; echo err$i >&2; sleep 0.2; done; exit 7")
    try:
        out = subprocess.run([*_cli(p), "container", "attach", name], capture_output=True, text=True,
                             timeout=30, stdin=subprocess.DEVNULL)
        assert out.returncode == 7
        assert out.stdout.split() == ["line1", "line2", "line3"]  # from now on: not "before"
        assert out.stderr.split() == ["err1", "err2", "err3"]
        stopped = p.sf("container", "attach", name, check=False)
        assert stopped.returncode != 0 and "stopped container" in stopped.stderr
    finally:
        p.sf("container", "rm", "-f", name, check=False)


def test_attach_detach_keys_leave_the_container_running(project: Project) -> None:
    p = project
    p.write(STACK)
    p.sf("up", "-d", "a")
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([*_cli(p), "attach", "--detach-keys", "ctrl-x,q", "a"], stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)  # the CLI has started and put the terminal in its mode
        os.write(master, b"x\x18")
        time.sleep(0.3)
        assert proc.poll() is None  # not the sequence yet
        os.write(master, b"q")
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0 and "read escape sequence" in err
    finally:
        os.close(master)
        os.close(slave)
    assert p.ps("a")[f"{p.name}-a-1"]["State"] == "running"
    bad = p.sf("attach", "--detach-keys", "ctrl-", "a", check=False)
    assert bad.returncode != 0 and "detach key" in bad.stderr


def test_attach_sends_piped_input_to_a_container_made_with_i(project: Project) -> None:
    p = project
    p.write(STACK)
    name = f"{p.name}-reader"
    p.sf("container", "run", "-d", "-i", "--name", name, "busybox", "sh", "-c",
         "read a; echo got:$a; read b; echo got:$b; exit 3")
    try:
        out = subprocess.run([*_cli(p), "container", "attach", name], input="hello\nworld\n",
                             capture_output=True, text=True, timeout=30)
        assert (out.returncode, out.stdout.split()) == (3, ["got:hello", "got:world"])
    finally:
        p.sf("container", "rm", "-f", name, check=False)


def _read_until(fd: int, needle: bytes, timeout: float = 15) -> bytes:
    import select

    got = b""
    deadline = time.monotonic() + timeout
    while needle not in got and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            got += os.read(fd, 4096)
    return got


def test_attach_types_into_a_tty_service_and_detaches(project: Project) -> None:
    p = project
    shell = '    command: ["sh"]\n    stdin_open: true\n    tty: true\n    networks: [front]\n'
    p.write(STACK.replace('    command: ["sleep", "1000"]\n    networks: [front]\n', shell))
    p.sf("up", "-d", "a")
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([*_cli(p), "attach", "a"], stdin=slave, stdout=slave,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        os.write(master, b"echo sum-$((40+2))\r")
        assert b"sum-42" in _read_until(master, b"sum-42")
        os.write(master, b"\x10\x11")
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0 and "read escape sequence" in err
    finally:
        os.close(master)
        os.close(slave)
    assert p.ps("a")[f"{p.name}-a-1"]["State"] == "running"
    assert "sum-42" in p.sf("logs", "a").stdout  # what the shell said went to the log as well


def test_rename_keeps_published_ports(project: Project) -> None:
    import urllib.request

    p = project
    p.write("""
services:
  w:
    image: busybox
    init: true
    command: ["sh", "-c", "echo hello > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]
    ports: ["80"]
""")
    p.sf("up", "-d")
    host_port = p.sf("port", "w", "80").stdout.strip().rsplit(":", 1)[1]

    def get() -> str:
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{host_port}/index.html", timeout=2) as r:
                    return r.read().decode()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    assert get() == "hello\n"
    p.sf("container", "rename", f"{p.name}-w-1", "web-renamed")
    assert get() == "hello\n"  # the same host port, served under the new name
    p.sf("container", "stop", "web-renamed")
    p.sf("container", "start", "web-renamed")
    assert get() == "hello\n"
    assert p.sf("port", "w", "80").stdout.strip().endswith(f":{host_port}")


def test_update_restart_policy_and_reservation_of_a_running_container(project: Project) -> None:
    p = project
    p.write(STACK)
    name = f"{p.name}-policy"
    gate = p.workdir / "gate"
    gate.mkdir()
    p.sf("container", "run", "-d", "--name", name, "-v", f"{gate}:/gate", "busybox", "sh", "-c",
         "while [ ! -e /gate/go ]; do sleep 0.1; done; exit 3")
    try:
        cid = str(_inspect(p, name)["Id"])
        # the policy changes while it runs: its supervisor reads it when the container exits
        p.sf("container", "update", "--restart", "on-failure:2", "--memory-reservation", "16m", name)
        assert _cgroup(cid, ("memory", "memory.soft_limit_in_bytes"), "memory.low") == str(16 << 20)
        (gate / "go").touch()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            st = _inspect(p, name)
            if st["State"] == "exited" and st["RestartCount"] == 2:
                break
            time.sleep(0.2)
        st = _inspect(p, name)
        assert (st["State"], st["RestartCount"], st["ExitCode"]) == ("exited", 2, 3)
        policy = _inspect(p, name)["Config"]["restart"]  # type: ignore[index]
        assert policy == {"name": "on-failure", "max_retries": 2}
        bad = p.sf("container", "update", "--restart", "sometimes", name, check=False)
        assert bad.returncode != 0 and "invalid restart policy" in bad.stderr
    finally:
        p.sf("container", "rm", "-f", name, check=False)
    auto = f"{p.name}-auto"
    p.sf("container", "run", "-d", "--rm", "--name", auto, "busybox", "sleep", "1000")
    try:
        refused = p.sf("container", "update", "--restart", "always", auto, check=False)
        assert refused.returncode != 0 and "auto-remove" in refused.stderr
    finally:
        p.sf("container", "rm", "-f", auto, check=False)
