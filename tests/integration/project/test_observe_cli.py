"""The observing commands on a live stack, checked against what Docker 28 and Compose v2.40 print:
``stats --no-stream``, ``wait`` (a one-shot's exit code, ``--down-project``), ``container wait``,
``volumes``, ``container port``, ``container prune`` and ``system info``."""

from __future__ import annotations

import json
import os
import re

from tests.conftest import needs_root
from tests.integration.project.conftest import Project
from tests.integration.project.test_quickstart import free_port

pytestmark = needs_root


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_stats_no_stream_on_a_live_stack(project: Project) -> None:
    project.write("""\
services:
  busy:
    image: busybox
    command: ["sh", "-c", "while :; do :; done"]
    stop_signal: SIGKILL
    mem_limit: 64m
    cpus: 0.5
  idle:
    image: busybox
    command: ["sh", "-c", "sleep 1000 & sleep 1000 & wait"]
    stop_signal: SIGKILL
""")
    project.sf("up", "-d")
    rows = {r["Name"]: r for r in _json_lines(project.sf("stats", "--no-stream", "--format", "json").stdout)}
    busy, idle = rows[f"{project.name}-busy-1"], rows[f"{project.name}-idle-1"]
    assert set(busy) == {"BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO",
                         "PIDs"}
    assert 5.0 < float(str(busy["CPUPerc"]).rstrip("%")) < 60.0, busy
    assert str(busy["MemUsage"]).endswith(" / 64MiB") and re.fullmatch(r"\d+\.\d\d%", str(busy["MemPerc"]))
    assert busy["PIDs"] == "1" and idle["PIDs"] == "3" and len(str(busy["ID"])) == 12
    # the service container has a network: its eth0 counters, in Docker's units
    assert re.fullmatch(r"[\d.]+k?M?B / [\d.]+k?M?B", str(busy["NetIO"])), busy
    table = project.sf("stats", "--no-stream", "idle").stdout.splitlines()
    assert re.split(r"\s{2,}", table[0]) == ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                                             "NET I/O", "BLOCK I/O", "PIDS"]
    assert len(table) == 2 and f"{project.name}-idle-1" in table[1]
    custom = project.sf("stats", "--no-stream", "--no-trunc", "--format", "{{.Name}}:{{.ID}}", "busy").stdout
    (name, cid) = custom.strip().split(":")
    assert name == f"{project.name}-busy-1" and len(cid) == 64
    direct = _json_lines(project.sf("container", "stats", "--no-stream", "--format", "json", name,
                                    file=False).stdout)
    assert [r["Container"] for r in direct] == [name]
    bad = project.sf("stats", "--no-stream", "nosuch", check=False)
    assert bad.returncode != 0 and "no such service: nosuch" in bad.stderr


def test_wait_gives_a_one_shot_services_exit_code(project: Project) -> None:
    project.write("""\
services:
  job:
    image: busybox
    command: ["sh", "-c", "sleep 1; exit 3"]
  server:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
""")
    project.sf("up", "-d")
    done = project.sf("wait", "job", check=False)
    assert done.returncode == 3, done.stderr
    (line,) = done.stdout.splitlines()
    assert re.fullmatch(r'container "[0-9a-f]{64}" exited with status code 3', line)
    # --down-project: the project goes once the first container stops
    project.sf("up", "-d", "--force-recreate")
    down = project.sf("wait", "--down-project", "job", "server", check=False)
    assert down.returncode == 3 and project.ps() == {}
    # container wait: the codes in the order given
    a = project.sf("container", "run", "-d", "busybox", "sh", "-c", "sleep 0.5; exit 5",
                   file=False).stdout.strip()
    b = project.sf("container", "run", "-d", "busybox", "true", file=False).stdout.strip()
    try:
        assert project.sf("container", "wait", a, b, file=False).stdout.split() == ["5", "0"]
    finally:
        project.sf("container", "rm", "-f", a, b, file=False, check=False)
    missing = project.sf("container", "wait", "nosuchcontainer", check=False, file=False)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr


def test_volumes_lists_the_projects_volumes(project: Project) -> None:
    project.write("""\
services:
  db:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
    volumes: ["data:/data"]
  cache:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
    volumes: ["scratch:/scratch"]
volumes:
  data: {}
  scratch: {labels: {tier: fast}}
""")
    project.sf("up", "-d")
    table = project.sf("volumes").stdout.splitlines()
    assert [re.split(r"\s{2,}", line) for line in table] == [
        ["DRIVER", "VOLUME NAME"], ["local", f"{project.name}_data"], ["local", f"{project.name}_scratch"]]
    assert project.sf("volumes", "-q", "cache").stdout.split() == [f"{project.name}_scratch"]
    (row,) = _json_lines(project.sf("volumes", "--format", "json", "cache").stdout)
    assert row["Driver"] == "local" and row["Scope"] == "local" and "tier=fast" in str(row["Labels"])
    assert os.path.isdir(str(row["Mountpoint"]))
    assert project.sf("volumes", "--format", "{{.Name}}", "db").stdout.split() == [f"{project.name}_data"]


def test_container_port_lists_and_picks_mappings(project: Project) -> None:
    tcp80, udp53 = free_port(), free_port()
    project.write(f"""\
services:
  front:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
    ports: ["127.0.0.1:{tcp80}:80", "127.0.0.1:{udp53}:53/udp"]
""")
    project.sf("up", "-d")
    name = f"{project.name}-front-1"
    assert project.sf("container", "port", name, file=False).stdout.splitlines() == [
        f"53/udp -> 127.0.0.1:{udp53}", f"80/tcp -> 127.0.0.1:{tcp80}"]
    assert project.sf("container", "port", name, "80", file=False).stdout.strip() == f"127.0.0.1:{tcp80}"
    assert project.sf("container", "port", name, "53/udp", file=False).stdout.strip() == f"127.0.0.1:{udp53}"
    none = project.sf("container", "port", name, "81", check=False, file=False)
    assert none.returncode != 0 and f"no public port '81/tcp' published for {name}" in none.stderr
    bad = project.sf("container", "port", name, "80/xyz", check=False, file=False)
    assert bad.returncode != 0 and "invalid port '80/xyz'" in bad.stderr


def test_container_prune_removes_stopped_containers_only(project: Project) -> None:
    def run(*args: str) -> str:
        return project.sf("container", "run", "-d", *args, file=False).stdout.strip()

    done = run("busybox", "true")
    kept = run("--label", "keep=yes", "busybox", "true")
    alive = run("busybox", "sleep", "1000")
    try:
        project.sf("container", "wait", done, kept, file=False)
        out = project.sf("container", "prune", "-f", "--filter", "label!=keep", file=False).stdout
        assert out.splitlines()[:2] == ["Deleted Containers:", done] and "Total reclaimed space:" in out
        listed = project.sf("container", "ls", "-a", "-q", file=False).stdout.split()
        assert done[:12] not in listed and kept[:12] in listed and alive[:12] in listed
        refused = project.sf("container", "prune", file=False)  # no tty, no answer: nothing removed
        assert kept[:12] in project.sf("container", "ls", "-a", "-q", file=False).stdout.split()
        assert "Are you sure" in refused.stdout
        bad = project.sf("container", "prune", "-f", "--filter", "colour=red", check=False, file=False)
        assert bad.returncode != 0 and "invalid filter 'colour=red'" in bad.stderr
    finally:
        project.sf("container", "rm", "-f", kept, alive, file=False, check=False)


def test_system_info_counts_and_features(project: Project) -> None:
    project.write("""\
services:
  a:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
    volumes: ["data:/data"]
  b:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
  c:
    image: busybox
    command: ["true"]
volumes:
  data: {}
""")
    project.sf("up", "-d")
    project.sf("wait", "c", check=False)
    project.sf("pause", "b")
    info = json.loads(project.sf("system", "info", "--format", "json", file=False).stdout)
    assert (info["Containers"], info["ContainersRunning"], info["ContainersPaused"],
            info["ContainersStopped"]) == (3, 1, 1, 1)
    assert info["Images"] >= 1 and info["Networks"] == 1 and info["Volumes"] == 1
    assert info["DockerRootDir"] == str(project.root) and info["KernelVersion"] == os.uname().release
    v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    assert info["CgroupVersion"] == ("2" if v2 else "1") and info["CgroupDriver"] == "cgroupfs"
    with open("/proc/filesystems") as fh:
        assert info["Features"]["overlay"] == ("overlay" in fh.read())
    assert "memory" in info["Features"]["cgroup_controllers"] or v2
    text = project.sf("info", file=False).stdout
    assert " Containers: 3\n  Running: 1\n  Paused: 1\n  Stopped: 1\n" in text
    assert f" Docker Root Dir: {project.root}\n" in text
    assert project.sf("info", "-f", "{{.ContainersPaused}}/{{.Volumes}}", file=False).stdout.strip() == "1/1"
    project.sf("unpause", "b")


def test_stats_streams_a_sample_a_second_until_stopped(project: Project) -> None:
    import subprocess
    import sys
    import time

    project.write("""\
services:
  web:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
""")
    project.sf("up", "-d")
    argv = [sys.executable, "-m", "stackfile", "--root", str(project.root), "-p", project.name, "-f",
            str(project.workdir / "stack.yaml"), "stats", "--format", "json"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=project.workdir)
    try:
        time.sleep(3.6)
    finally:
        proc.terminate()  # the process this test started, by its pid
        out, err = proc.communicate(timeout=10)
    rows = _json_lines(out)
    assert 2 <= len(rows) <= 4, (out, err)
    assert {r["Name"] for r in rows} == {f"{project.name}-web-1"} and "\x1b[" not in out  # no tty: no redraw


def test_stats_all_shows_stopped_containers_and_a_terminal_gets_redraws(project: Project) -> None:
    import pty
    import select
    import subprocess
    import sys
    import time

    project.write("""\
services:
  web:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
  done:
    image: busybox
    command: ["true"]
""")
    project.sf("up", "-d")
    project.sf("wait", "done", check=False)
    running = {r["Name"] for r in _json_lines(project.sf("stats", "--no-stream", "--format", "json").stdout)}
    every = {r["Name"]: r
             for r in _json_lines(project.sf("stats", "--no-stream", "-a", "--format", "json").stdout)}
    assert running == {f"{project.name}-web-1"}
    stopped = every[f"{project.name}-done-1"]
    assert (stopped["CPUPerc"], stopped["MemUsage"], stopped["PIDs"]) == ("0.00%", "0B / 0B", "0")
    # on a terminal each sample redraws the screen: cursor home, clear to the end (docker's escapes)
    master, slave = pty.openpty()
    argv = [sys.executable, "-m", "stackfile", "--root", str(project.root), "-p", project.name, "-f",
            str(project.workdir / "stack.yaml"), "stats"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                            cwd=project.workdir)
    os.close(slave)
    out = b""
    try:
        deadline = time.monotonic() + 15
        while out.count(b"\x1b[H\x1b[J") < 2 and time.monotonic() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                out += os.read(master, 65536)
    finally:
        proc.terminate()  # the process this test started, by its pid
        proc.wait(10)
        os.close(master)
    assert out.count(b"\x1b[H\x1b[J") >= 2, out
    assert b"CONTAINER ID" in out and f"{project.name}-web-1".encode() in out
