"""The Compose workflow commands on one small stack: ps, logs, exec, run, stop/start, restart,
kill, pause/unpause, rm, top, port, images, ls, scale, orphans, secrets and configs, and the fault
paths: an unhealthy service under --wait, a failed one-shot dependency, an interrupted up, and down
without the stack file."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """
name: ignored-by-p
services:
  migrate:
    image: busybox
    command: ["sh", "-c", "echo migrated; exit 0"]
  db:
    image: busybox
    init: true
    command: ["sh", "-c", "cat /run/secrets/token /etc/app.conf; exec httpd -f -p 80 -h /etc"]
    secrets: [token]
    configs:
      - source: appconf
        target: /etc/app.conf
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/app.conf"]
      interval: 1s
  app:
    image: busybox
    init: true
    environment:
      NAME: world
    command: ["sh", "-c", "echo hello $$NAME; exec sleep 1000"]
    ports:
      - "127.0.0.1::80"
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
secrets:
  token:
    file: ./token.txt
configs:
  appconf:
    content: "setting=42\\n"
"""


def test_workflow_commands(project: Project) -> None:
    p = project
    (p.workdir / "token.txt").write_text("s3cret\n")
    p.write(STACK)
    p.sf("up", "-d", "--wait", "--wait-timeout", "60")
    names = {f"{p.name}-{s}-1" for s in ("app", "db", "migrate")}
    rows = p.ps()
    assert set(rows) == names
    assert rows[f"{p.name}-migrate-1"]["State"] == "exited" and rows[f"{p.name}-migrate-1"]["ExitCode"] == 0
    assert rows[f"{p.name}-db-1"]["Health"] == "healthy"

    logs = p.sf("logs", "--no-color").stdout
    assert "hello world" in logs and "migrated" in logs and "s3cret" in logs and "setting=42" in logs
    assert p.sf("logs", "--tail", "1", "--no-log-prefix", "app").stdout.strip() == "hello world"

    assert p.sf("exec", "-T", "app", "sh", "-c", "echo $NAME; exit 3", check=False).returncode == 3
    missing = p.sf("exec", "-T", "app", "no-such-command", check=False)
    # Docker's exit code, not the spec-error category's
    assert missing.returncode == 127 and "no-such-command" in missing.stderr
    assert p.sf("exec", "-T", "-e", "NAME=x", "-w", "/tmp", "app", "sh", "-c", "echo $NAME $(pwd)").stdout \
        == "x /tmp\n"
    run = p.sf("run", "--rm", "-T", "--no-deps", "-e", "X=1", "app", "sh", "-c", "echo run $X $NAME")
    assert run.stdout.strip() == "run 1 world"
    assert set(p.ps()) == names  # --rm removed the one-off

    host_port = p.sf("port", "app", "80").stdout.strip()
    assert host_port.startswith("127.0.0.1:") and int(host_port.split(":")[1]) > 0
    assert "sleep" in p.sf("top", "app").stdout
    images = json.loads(p.sf("images", "--format", "json").stdout)
    assert {r["Repository"] for r in images} == {"busybox"}
    projects = json.loads(p.sf("ls", "--format", "json", file=False).stdout)
    assert [r["Name"] for r in projects if r["Name"] == p.name] == [p.name]

    p.sf("pause", "app")
    assert p.ps("app")[f"{p.name}-app-1"]["State"] == "paused"
    p.sf("unpause", "app")
    p.sf("stop", "-t", "2", "app")
    assert p.ps("app")[f"{p.name}-app-1"]["State"] == "exited"
    p.sf("start", "app")
    assert p.ps("app")[f"{p.name}-app-1"]["State"] == "running"
    before = p.ps("app")[f"{p.name}-app-1"]["ID"]
    p.sf("restart", "-t", "2", "app")
    assert p.ps("app")[f"{p.name}-app-1"]["ID"] == before
    p.sf("kill", "app")
    assert p.ps("app")[f"{p.name}-app-1"]["State"] == "exited"
    p.sf("rm", "-f", "app")
    assert f"{p.name}-app-1" not in p.ps()

    # up again brings app back; scale and orphans
    p.sf("up", "-d", "--scale", "app=2")
    assert {n for n in p.ps() if "-app-" in n} == {f"{p.name}-app-1", f"{p.name}-app-2"}
    p.write(STACK.replace("  migrate:", "  migrate2:").replace("migrate: {", "migrate2: {"))
    dry = p.sf("up", "-d", "--dry-run", "--scale", "app=2")
    assert f"found orphan container {p.name}-migrate-1" in dry.stderr
    p.sf("up", "-d", "--remove-orphans", "--scale", "app=2")
    assert f"{p.name}-migrate-1" not in p.ps()


def test_unhealthy_service_fails_wait_with_health_output_and_logs(project: Project) -> None:
    p = project
    p.write("""
services:
  sick:
    image: busybox
    init: true
    command: ["sh", "-c", "echo starting up; exec sleep 1000"]
    healthcheck:
      test: ["CMD-SHELL", "echo probe says no; exit 1"]
      interval: 300ms
      retries: 2
""")
    proc = p.sf("up", "-d", "--wait", "--wait-timeout", "30", check=False)
    assert proc.returncode == 17, proc.stderr
    assert f"container {p.name}-sick-1 is unhealthy" in proc.stderr
    assert "last health output: probe says no" in proc.stderr
    assert "starting up" in proc.stderr  # the logs' tail
    assert p.ps()[f"{p.name}-sick-1"]["Health"] == "unhealthy"


def test_failed_one_shot_stops_dependents(project: Project) -> None:
    p = project
    p.write("""
services:
  migrate:
    image: busybox
    command: ["sh", "-c", "echo cannot migrate; exit 3"]
  app:
    image: busybox
    command: ["sleep", "1000"]
    depends_on:
      migrate: {condition: service_completed_successfully}
""")
    proc = p.sf("up", "-d", check=False)
    assert proc.returncode != 0
    assert 'stack.yaml:3:3 (services.migrate): service "migrate" didn\'t complete successfully: exit 3' \
        in proc.stderr
    assert "cannot migrate" in proc.stderr
    assert 'service "app": not started, service "migrate" failed' in proc.stderr
    assert "service:" not in proc.stderr
    assert p.ps()[f"{p.name}-app-1"]["State"] == "created"


def test_interrupted_up_converges_and_down_works_without_the_file(project: Project) -> None:
    p = project
    p.write("""
services:
  web:
    image: busybox
    init: true
    command: ["httpd", "-f", "-p", "80"]
    ports: ["127.0.0.1::80"]
""")
    p.sf("up", "-d", "--no-start")  # what an interrupted up leaves: a created container
    assert p.ps()[f"{p.name}-web-1"]["State"] == "created"
    dry = p.sf("up", "-d", "--dry-run").stdout.strip()
    assert dry == "#1 service:web:1, StartContainer, container created"
    p.sf("up", "-d")
    rows = p.ps()
    assert list(rows) == [f"{p.name}-web-1"] and rows[f"{p.name}-web-1"]["State"] == "running"
    url = "http://" + p.sf("port", "web", "80").stdout.strip()
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:  # httpd answers 404 for / without an index: it answered
        status = exc.code
    assert status in (200, 404)
    (p.workdir / "stack.yaml").unlink()
    p.sf("down", file=False)
    assert p.ps() == {}


def test_anonymous_volume_survives_recreate_and_goes_with_down_v(project: Project) -> None:
    p = project
    p.write("""
services:
  box:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    volumes: ["/data"]
""")
    p.sf("up", "-d")
    p.sf("exec", "-T", "box", "sh", "-c", "echo kept > /data/file")
    p.sf("up", "-d", "--force-recreate")
    assert p.sf("exec", "-T", "box", "cat", "/data/file").stdout == "kept\n"
    assert any((p.root / "volumes").iterdir())
    p.sf("down", "-v")
    assert not any((p.root / "volumes").iterdir())
