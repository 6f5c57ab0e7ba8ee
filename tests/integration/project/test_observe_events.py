"""``events`` on a live stack, as Docker and Compose v2 show them: ``system events`` followed
while a project comes up, turns healthy, restarts and goes down (networks, volumes, containers,
health), then the project's ``events --json`` over a past window, which sees the restart."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """\
services:
  web:
    image: busybox
    command: ["sh", "-c", "touch /tmp/ok; sleep 1000"]
    stop_signal: SIGKILL
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 0.3s
      retries: 2
volumes:
  data: {}
"""


def _follow(project: Project, *args: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "stackfile", "--root", str(project.root), "system", "events",
            "--format", "json", *args]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=project.workdir)


def _wait_healthy(project: Project) -> None:
    deadline = time.monotonic() + 30
    while project.ps()[f"{project.name}-web-1"].get("Health") != "healthy":
        assert time.monotonic() < deadline, project.ps()
        time.sleep(0.2)


def test_system_events_follow_a_stack_through_its_life(project: Project) -> None:
    project.write(STACK)
    follower = _follow(project)
    try:
        time.sleep(1.5)  # the follower starts reading from its own "now"
        project.sf("up", "-d")
        _wait_healthy(project)
        project.sf("restart", "web")
        project.sf("down", "-v", "-t", "1")
        time.sleep(1.0)  # the follower polls every 0.1 s
    finally:
        follower.terminate()
        out, err = follower.communicate(timeout=10)
    events = [json.loads(line) for line in out.splitlines()]
    assert events, err
    seen = [(e["Type"], e["Action"]) for e in events]
    name = f"{project.name}-web-1"
    web = [e["Action"] for e in events
           if e["Type"] == "container" and e["Actor"]["Attributes"].get("name") == name]
    for wanted in (("network", "create"), ("volume", "create"), ("volume", "mount"),
                   ("network", "connect"), ("network", "disconnect"), ("volume", "destroy"),
                   ("network", "destroy")):
        assert wanted in seen, (wanted, seen)
    assert web[:2] == ["create", "start"], web
    assert "health_status: healthy" in web and "restart" in web and web[-1] == "destroy", web
    assert web.index("health_status: healthy") < web.index("restart") < web.index("destroy")
    created = next(e for e in events if e["Type"] == "container" and e["Action"] == "create")
    assert created["status"] == "create" and created["id"] == created["Actor"]["ID"]
    assert len(created["id"]) == 64
    assert created["Actor"]["Attributes"]["io.stackfile.service"] == "web"
    assert [e["timeNano"] for e in events] == sorted(e["timeNano"] for e in events)


def test_project_events_json_see_a_restart_over_a_past_window(project: Project) -> None:
    project.write(STACK)
    project.sf("up", "-d")
    project.sf("restart", "web")
    until = f"{time.time():.6f}"  # one window for every read below: the health monitor goes on
    out = project.sf("events", "--json", "--since", "5m", "--until", until).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and all(set(r) == {"time", "type", "action", "id", "service", "attributes"} for r in rows)
    assert all(r["type"] == "container" and r["service"] == "web" for r in rows), rows
    actions = [r["action"] for r in rows]
    assert actions[:2] == ["create", "start"] and "restart" in actions, actions
    assert rows[0]["time"].endswith("Z") and rows[0]["attributes"]["name"] == f"{project.name}-web-1"
    # the text form: Compose's "2006-01-02 15:04:05.000000 container start ID (k=v, ...)"
    text = project.sf("events", "--since", "5m", "--until", until, "web").stdout.splitlines()
    assert len(text) == len(rows) and text[0].split()[2:4] == ["container", "create"]
    # system events filters: only the restart of this container, and a bad filter named
    only = project.sf("system", "events", "--since", "5m", "--until", until, "--filter", "event=restart",
                      "--filter", f"container={project.name}-web-1",
                      "--format", "{{.Action}} {{.Actor.Attributes.name}}", file=False).stdout.splitlines()
    assert only == [f"restart {project.name}-web-1"]
    bad = project.sf("system", "events", "--filter", "colour=red", check=False, file=False)
    assert bad.returncode != 0 and "invalid filter 'colour=red'" in bad.stderr
    assert "Traceback" not in bad.stderr
