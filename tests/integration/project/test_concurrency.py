"""Two commands on one project at once, and several projects at once (issue 12.1).

A changing command takes its project's lock: a second one waits for the first, says so, and then
converges on what the first made. Different projects do not wait for each other.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/etc"]
  client:
    image: busybox
    command: ["sleep", "1000"]
    depends_on: [web]
"""


def _start(p: Project, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "stackfile", "--root", str(p.root), "-p", p.name, "-f",
           str(p.workdir / "stack.yaml"), *args]
    return subprocess.Popen(cmd, cwd=p.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out + err


def _assert_converged(p: Project) -> None:
    rows = p.ps()
    assert set(rows) == {f"{p.name}-web-1", f"{p.name}-client-1"}, rows
    assert all(r["State"] == "running" for r in rows.values()), rows
    got = p.sf("exec", "-T", "client", "wget", "-q", "-O", "-", "http://web/hostname")
    assert got.stdout.strip(), got


def test_two_ups_of_one_project_at_once(project: Project) -> None:
    project.write(STACK)
    procs = [_start(project, "up", "-d") for _ in range(2)]
    results = [_finish(proc) for proc in procs]
    assert [code for code, _ in results] == [0, 0], results
    _assert_converged(project)
    assert "nothing" not in project.sf("up", "-d", "--dry-run").stdout  # the plan is empty
    assert project.sf("up", "-d", "--dry-run").stderr.strip().endswith("nothing to do")


def test_a_second_command_waits_and_names_the_holder(project: Project) -> None:
    from stackfile.engine.project_lock import changing
    from stackfile.store.paths import StorePaths

    project.write(STACK)
    with changing(StorePaths.at(project.root), project.name):
        proc = _start(project, "up", "-d")
        time.sleep(1.5)
        assert proc.poll() is None, _finish(proc)  # still waiting for us
    code, output = _finish(proc)
    assert code == 0, output
    assert f'another stackfile command (pid {os.getpid()}) is changing project \'{project.name}\'' in output
    _assert_converged(project)


def test_up_against_down(project: Project) -> None:
    project.write(STACK)
    project.sf("up", "-d")
    up, down = _start(project, "up", "-d", "--force-recreate"), _start(project, "down", "-t", "1")
    assert _finish(up)[0] == 0 and _finish(down)[0] == 0
    project.sf("up", "-d")  # whichever ran last, the next up converges
    _assert_converged(project)


def test_four_projects_at_once(store_root: Path, tmp_path: Path) -> None:
    projects = []
    for i in range(4):
        workdir = tmp_path / f"p{i}"
        workdir.mkdir()
        projects.append(Project(store_root, workdir, f"t{secrets.token_hex(4)}"))
        projects[-1].write(STACK)
    try:
        procs = [_start(p, "up", "-d") for p in projects]
        results = [_finish(proc) for proc in procs]
        assert [code for code, _ in results] == [0] * 4, results
        for p in projects:
            _assert_converged(p)
    finally:
        for p in projects:
            p.sf("down", "-v", "-t", "1", check=False, file=False)


WATCHED = """
services:
  web:
    image: busybox
    init: true
    command: ["httpd", "-f", "-p", "80", "-h", "/etc"]
    develop:
      watch:
        - {action: restart, path: ./conf}
"""


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_watch_against_down(project: Project) -> None:
    project.write(WATCHED)
    (project.workdir / "conf").mkdir()
    started = project.sf("up", "-d", "--watch")
    pid = int(started.stderr.split("(pid ")[1].split(")")[0])
    for i in range(5):  # restarts the watcher applies, racing the down
        (project.workdir / "conf" / f"f{i}").write_text(str(i))
        time.sleep(0.05)
    down = _start(project, "down", "-v", "-t", "1")
    for i in range(5, 10):
        (project.workdir / "conf" / f"f{i}").write_text(str(i))
        time.sleep(0.05)
    code, output = _finish(down)
    assert code == 0, output
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(pid), "the watcher outlived down"
    assert project.ps() == {}
    check = project.sf("system", "check", file=False, check=False)
    assert check.returncode == 0, check.stdout
