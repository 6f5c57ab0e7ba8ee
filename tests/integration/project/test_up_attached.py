"""``up`` without ``-d``: the services' logs until they exit, each exit code announced as Compose
does, ``--abort-on-container-exit`` / ``--exit-code-from``, and Ctrl-C: the first stops gracefully
while the last lines are still shown, a second one kills at once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

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


class Attached:
    """``up [flags]`` on ``stack``, running attached; reader threads collect its output as it
    comes (a test that reads a pipe only when it looks would fall behind a chatty service)."""

    def __init__(self, project: Project, stack: str = TICKER, *flags: str) -> None:
        project.write(stack)
        cmd = [sys.executable, "-m", "stackfile", "--root", str(project.root), "-p", project.name,
               "-f", str(project.workdir / "stack.yaml"), "up", "--no-color", *flags]
        self.proc = subprocess.Popen(cmd, cwd=project.workdir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for reader in self._readers:
            reader.start()
        self.wait_for(lambda lines: "talker-1 | tick" in lines, "the talker never spoke")

    @staticmethod
    def _read(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    @property
    def said(self) -> list[str]:
        return said("\n".join(list(self.out)))

    def wait_for(self, pred: Callable[[list[str]], bool], why: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not pred(self.said):
            assert time.monotonic() < deadline and self.proc.poll() is None, (why, self.said[-20:])
            time.sleep(0.02)

    def finish(self, timeout: float) -> None:
        """Wait for ``up`` to end (killed after ``timeout``) and for its output to be read."""
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for reader in self._readers:
                reader.join(10)


def test_ctrl_c_stops_gracefully_and_shows_the_last_lines(project: Project) -> None:
    """The talker traps SIGTERM and says goodbye: the line and its exit code are shown after
    'Gracefully stopping'. The stubborn one (sleep as PID 1 ignores SIGTERM) takes its grace."""
    up = Attached(project, TICKER.replace("30s", "1s"))
    up.proc.send_signal(signal.SIGINT)
    up.finish(30)
    assert up.proc.returncode == 130
    assert "Gracefully stopping... (press Ctrl+C again to force)" in up.err
    lines = up.said
    assert "talker-1 | bye" in lines
    assert lines.index("talker-1 | bye") < lines.index("talker-1 exited with code 0")
    assert "stubborn-1 exited with code 137" in lines
    assert {row["State"] for row in project.ps().values()} == {"exited"}


def test_a_second_ctrl_c_kills_without_waiting_for_the_grace_period(project: Project) -> None:
    up = Attached(project)
    up.proc.send_signal(signal.SIGINT)
    time.sleep(1.0)  # the stubborn one now sits in its 30 s grace period
    assert up.proc.poll() is None
    started = time.monotonic()
    up.proc.send_signal(signal.SIGINT)
    up.finish(20)
    assert time.monotonic() - started < 15  # not the 30 s grace
    assert up.proc.returncode == 130
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
    up = Attached(project, stack, "--watch")
    up.wait_for(lambda lines: any("watching 1 rule(s)" in line for line in lines),
                "the watcher never started")
    (site / "index.html").write_text("v1\n")
    up.wait_for(lambda lines: "talker-1 | v1" in lines, "the edit never reached the container")
    up.proc.send_signal(signal.SIGINT)
    up.finish(30)
    assert up.proc.returncode == 130
    assert any("index.html → talker.develop.watch[0] → sync talker" in line for line in up.said)
