"""``up`` without ``-d``: the services' logs until they exit, each exit code announced as Compose
does, ``--abort-on-container-exit`` / ``--exit-code-from``, and Ctrl-C: the first stops gracefully
while the last lines are still shown, a second one kills at once."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import time

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

TICKER = """\
services:
  talker:
    image: busybox
    command: ["sh", "-c", "trap 'echo bye; exit 0' TERM; while true; do echo tick; sleep 0.1; done"]
  stubborn:
    image: busybox
    command: ["sleep", "1000"]
    stop_grace_period: 30s
"""


def said(out: str) -> list[str]:
    """The output lines with the prefix padding dropped: ``one-1 | text``, ``one-1 exited with code 0``."""
    return [" | ".join(part.strip() for part in line.split(" | ", 1)) for line in out.splitlines()]


def busyboxes(**scripts: str) -> str:
    """A stack of busybox services, each running its shell script (killed at once on stop)."""
    lines = ["services:"]
    for name, script in scripts.items():
        lines += [f"  {name}:", "    image: busybox", f"    command: [sh, -c, {json.dumps(script)}]",
                  "    stop_signal: SIGKILL"]
    return "\n".join(lines) + "\n"


def test_logs_until_every_container_exits_with_their_exit_codes(project: Project) -> None:
    project.write(busyboxes(one="echo hello from one", two="sleep 0.3; echo hello from two; exit 3"))
    proc = project.sf("up", "--no-color", timeout=60)
    lines = said(proc.stdout)
    assert "one-1 | hello from one" in lines and "two-1 | hello from two" in lines
    assert "one-1 exited with code 0" in lines and "two-1 exited with code 3" in lines
    assert lines.index("two-1 | hello from two") < lines.index("two-1 exited with code 3")
    assert proc.returncode == 0


def test_abort_on_container_exit_returns_the_chosen_exit_code(project: Project) -> None:
    project.write(busyboxes(job="sleep 0.3; exit 7", server="exec sleep 1000"))
    proc = project.sf("up", "--abort-on-container-exit", "--exit-code-from", "job", check=False, timeout=60)
    assert proc.returncode == 7, proc.stderr
    assert "Aborting on container exit..." in proc.stderr
    states = {name.removeprefix(f"{project.name}-"): row["State"] for name, row in project.ps().items()}
    assert states == {"job-1": "exited", "server-1": "exited"}


def _attached(project: Project, stack: str = TICKER, *flags: str) -> subprocess.Popen[str]:
    """``up [flags]`` on ``stack``, returned once the talker's first line is out."""
    project.write(stack)
    cmd = [sys.executable, "-m", "stackfile", "--root", str(project.root), "-p", project.name,
           "-f", str(project.workdir / "stack.yaml"), "up", "--no-color", *flags]
    proc = subprocess.Popen(cmd, cwd=project.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while True:
        left = deadline - time.monotonic()
        assert left > 0 and proc.poll() is None, "the talker never spoke"
        readable = select.select([proc.stdout], [], [], left)[0]
        if readable and said(proc.stdout.readline()) == ["talker-1 | tick"]:
            break
    return proc


def _finish(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return out, err


def test_ctrl_c_stops_gracefully_and_shows_the_last_lines(project: Project) -> None:
    """The talker traps SIGTERM and says goodbye: the line and its exit code are shown after
    'Gracefully stopping'. The stubborn one (sleep as PID 1 ignores SIGTERM) takes its grace."""
    proc = _attached(project, TICKER.replace("30s", "1s"))
    proc.send_signal(signal.SIGINT)
    out, err = _finish(proc, 30)
    assert proc.returncode == 130
    assert "Gracefully stopping... (press Ctrl+C again to force)" in err
    lines = said(out)
    assert "talker-1 | bye" in lines
    assert lines.index("talker-1 | bye") < lines.index("talker-1 exited with code 0")
    assert "stubborn-1 exited with code 137" in lines
    assert {row["State"] for row in project.ps().values()} == {"exited"}


def test_a_second_ctrl_c_kills_without_waiting_for_the_grace_period(project: Project) -> None:
    proc = _attached(project)
    proc.send_signal(signal.SIGINT)
    time.sleep(1.0)  # the stubborn one now sits in its 30 s grace period
    assert proc.poll() is None
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _finish(proc, 20)
    assert time.monotonic() - started < 15  # not the 30 s grace
    assert proc.returncode == 130
    assert {row["State"] for row in project.ps().values()} == {"exited"}


def test_up_watch_syncs_and_says_so_among_the_logs(project: Project) -> None:
    """``up --watch``: the logs, plus a line per watch action; an edit reaches the container."""
    site = project.workdir / "site"
    site.mkdir()
    (site / "index.html").write_text("v0\n")
    stack = """\
services:
  talker:
    image: busybox
    command: ["sh", "-c", "while true; do echo tick; cat /srv/index.html 2>/dev/null; sleep 0.1; done"]
    stop_signal: SIGKILL
    develop:
      watch:
        - {action: sync, path: ./site, target: /srv}
"""
    proc = _attached(project, stack, "--watch")
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    edited = False
    seen: list[str] = []
    while not any(line == "talker-1 | v1" for line in seen):
        assert time.monotonic() < deadline and proc.poll() is None, seen[-20:]
        if select.select([proc.stdout], [], [], 0.5)[0]:
            seen += said(proc.stdout.readline())
        if not edited and any("watching 1 rule(s)" in line for line in seen):
            (site / "index.html").write_text("v1\n")
            edited = True
    proc.send_signal(signal.SIGINT)
    out, _ = _finish(proc, 30)
    assert proc.returncode == 130
    assert any("index.html → talker.develop.watch[0] → sync talker" in line for line in seen + said(out))
