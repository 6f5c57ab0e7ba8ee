"""Healthchecks with real containers and the real monitor: healthy turning unhealthy, a probe that
overruns its timeout (and is killed, so hung probes do not pile up), and the status after the
restart policy restarted the container (it starts over and is probed again)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """\
services:
  app:
    image: busybox
    command: ["sh", "-c", "touch /tmp/ok; exec sleep 1000"]
    restart: always
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 0.3s
      timeout: 2s
      retries: 2
  slow:
    image: busybox
    command: ["sleep", "1000"]
    healthcheck:
      test: ["CMD", "sleep", "7"]
      interval: 0.3s
      timeout: 0.4s
      retries: 2
"""


def until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def health(p: Project, service: str) -> str:
    return str(p.ps()[f"{p.name}-{service}-1"]["Health"])


def record(p: Project, service: str) -> dict[str, object]:
    cid = str(p.ps()[f"{p.name}-{service}-1"]["ID"])
    files = list((p.root / "projects" / p.name / "health").glob(f"{cid}*.json"))
    assert len(files) == 1, files
    return dict(json.loads(files[0].read_text()))


def test_healthy_turns_unhealthy_and_a_restart_starts_over(project: Project) -> None:
    p = project
    p.write(STACK)
    p.sf("up", "-d", "app")
    until(lambda: health(p, "app") == "healthy")
    p.sf("exec", "-T", "app", "rm", "/tmp/ok")
    until(lambda: health(p, "app") == "unhealthy")
    rec = record(p, "app")
    assert rec["failing_streak"] >= 2  # type: ignore[operator]  # retries counted failures in a row
    assert all(probe["exit_code"] == 1 for probe in rec["log"][-2:])  # type: ignore[index,union-attr]
    old = rec["container_pid"]
    os.kill(int(old), signal.SIGKILL)  # type: ignore[call-overload]  # the restart policy restarts it
    until(lambda: record(p, "app")["container_pid"] not in (0, old))
    until(lambda: health(p, "app") == "healthy")  # probed again: /tmp/ok is back
    assert record(p, "app")["failing_streak"] == 0


def test_a_probe_over_its_timeout_fails_and_is_killed(project: Project) -> None:
    p = project
    p.write(STACK)
    p.sf("up", "-d", "slow")
    until(lambda: health(p, "slow") == "unhealthy")
    rec = record(p, "slow")
    last = rec["log"][-1]  # type: ignore[index]
    assert last["exit_code"] == -1 and last["output"] == "health check exceeded timeout (0.4s)"
    time.sleep(1.0)  # several more probes time out meanwhile
    top = p.sf("top", "slow").stdout
    hung = [line for line in top.splitlines() if line.rstrip().endswith("sleep 7")]
    assert len(hung) <= 1, top  # at most the probe in flight: the timed-out ones were killed
