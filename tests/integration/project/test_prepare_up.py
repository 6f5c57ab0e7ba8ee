"""``up`` prepares the containers it creates and then starts (the shim builds each up to its exec
during CreateContainer): the starts along a depends_on chain keep their order, a failing start
stops its dependents with the same message as an unprepared start, and the prepared containers
that were never started (a failure, an interrupted up) are left created with nothing behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from stackfile.runtime.linux.state import to_ns
from tests.conftest import needs_root, processes_of
from tests.integration.project.conftest import Project
from tests.support.cleanup import cgroup_dirs

pytestmark = needs_root


def chain(n: int, failing: int = 0, first_health: bool = False) -> str:
    lines = ["services:"]
    for i in range(1, n + 1):
        cmd = '["no-such-cmd"]' if i == failing else '["sleep", "1000"]'
        lines += [f"  s{i}:", "    image: busybox", f"    command: {cmd}", "    stop_signal: SIGKILL"]
        if i == 1 and first_health:
            lines += ["    healthcheck:", '      test: ["CMD", "sleep", "1000"]', "      interval: 1s",
                      "      timeout: 900s"]
        if i > 1:
            cond = "service_healthy" if i == 2 and first_health else "service_started"
            lines += ["    depends_on:", f"      s{i - 1}:", f"        condition: {cond}"]
    return "\n".join(lines) + "\n"


def ids(p: Project) -> dict[str, str]:
    """Container name → id, from the store."""
    rows = {}
    for d in (p.root / "containers").iterdir():
        if not d.name.startswith(".") and (d / "config.json").exists():
            rows[json.loads((d / "config.json").read_text())["name"]] = d.name
    return rows


def leftovers(cid: str) -> list[str]:
    """Processes (shim or in the container's cgroup) and cgroups of a container."""
    found = [f"pid {pid}" for pid in processes_of(cid)]
    found += [f"cgroup {d}" for d in cgroup_dirs(cid)]
    return found


def wait_clean(cid: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while leftovers(cid):
        assert time.monotonic() < deadline, leftovers(cid)
        time.sleep(0.05)


def test_chain_starts_in_order(project: Project) -> None:
    p = project
    p.write(chain(5))
    p.sf("up", "-d")
    rows = p.ps()
    assert [rows[f"{p.name}-s{i}-1"]["State"] for i in range(1, 6)] == ["running"] * 5
    names = ids(p)
    started = []
    for i in range(1, 6):
        state = json.loads((p.root / "containers" / names[f"{p.name}-s{i}-1"] / "state.json").read_text())
        started.append(to_ns(state["started_at"]))
    assert started == sorted(started)  # service_started: each after the one it depends on


def _errors(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [ln for ln in proc.stderr.splitlines() if not ln.lstrip().startswith(("✔", "✘", "⠿"))]


def test_failing_start_stops_dependents_with_the_same_message(project: Project, tmp_path: object) -> None:
    p = project
    p.write(chain(4, failing=2))
    prepared = p.sf("up", "-d", check=False)
    rows = p.ps()
    states = [rows[f"{p.name}-s{i}-1"]["State"] for i in range(1, 5)]
    assert states == ["running", "exited", "created", "created"]
    names = ids(p)
    for i in (3, 4):  # their preparation was undone when up ended
        wait_clean(names[f"{p.name}-s{i}-1"])
    p.sf("down", "-v", "-t", "1")
    # the same stack, started by an up that prepares nothing (the containers exist already)
    p.sf("up", "-d", "--no-start")  # which prepares nothing either
    assert all(leftovers(cid) == [] for cid in ids(p).values())
    plain = p.sf("up", "-d", check=False)
    assert prepared.returncode == plain.returncode == 127
    assert _errors(prepared) == _errors(plain)
    assert "exec: 'no-such-cmd': executable file not found in $PATH" in prepared.stderr
    assert [p.ps()[f"{p.name}-s{i}-1"]["State"] for i in range(1, 5)] == states


def test_killed_up_leaves_prepared_containers_created(project: Project) -> None:
    """``up`` dies (SIGKILL: no cleanup of its own) while s2 waits for s1 to be healthy: the
    prepared s2 and s3 are undone by their shims."""
    p = project
    names, proc = _interrupt_the_health_wait(p, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    _left_created_then_started(p, names)


def test_ctrl_c_stops_the_health_wait_at_once(project: Project) -> None:
    """Ctrl-C while s2 waits for s1 to be healthy (it never is): ``up`` stops waiting and exits
    130 promptly, not when the health wait would have ended; s2 and s3 stay created."""
    p = project
    names, proc = _interrupt_the_health_wait(p, signal.SIGINT)
    assert proc.returncode == 130
    assert proc.stderr is not None and b"interrupted" in proc.stderr.read()
    _left_created_then_started(p, names)


def _interrupt_the_health_wait(p: Project, sig: int) -> tuple[dict[str, str], subprocess.Popen[bytes]]:
    """Run ``up -d`` on a chain whose s1 never gets healthy, and send ``sig`` while s2 waits for it;
    returns the container ids and the ended process (which had 10 s to end)."""
    p.write(chain(3, first_health=True))
    cmd = [sys.executable, "-m", "stackfile", "--root", str(p.root), "-p", p.name,
           "-f", str(p.workdir / "stack.yaml"), "up", "-d"]
    proc = subprocess.Popen(cmd, cwd=p.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:  # s1 runs, s2 and s3 are created (and prepared)
            rows = p.ps()
            if len(rows) == 3 and rows[f"{p.name}-s1-1"]["State"] == "running":
                break
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        names = ids(p)
        time.sleep(0.3)
        proc.send_signal(sig)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return names, proc


def _left_created_then_started(p: Project, names: dict[str, str]) -> None:
    """s2 and s3 are created with nothing behind them, and the next up starts all three."""
    for i in (2, 3):
        wait_clean(names[f"{p.name}-s{i}-1"])
        assert p.ps()[f"{p.name}-s{i}-1"]["State"] == "created"
    p.write(chain(3))  # without the healthcheck: the next up starts them by the full path
    p.sf("up", "-d")
    assert [p.ps()[f"{p.name}-s{i}-1"]["State"] for i in range(1, 4)] == ["running"] * 3
    p.sf("down", "-v", "-t", "1")
    for cid in names.values():
        wait_clean(cid)
