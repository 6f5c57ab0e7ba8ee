"""``run`` as Compose has it: on a fresh project it creates the networks and volumes its one-off
needs; ``run -d`` prints the container ID and the one-off's hostname is its short ID; ``down``
leaves one-off containers alone (an exited one is an orphan, removed by ``--remove-orphans``)."""

from __future__ import annotations

import re
import time

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """\
services:
  solo:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
    volumes: ["data:/data"]
    networks: [back]
volumes:
  data:
networks:
  back:
"""


def test_run_on_a_fresh_project_creates_what_the_one_off_needs(project: Project) -> None:
    project.write(STACK)
    proc = project.sf("run", "--rm", "-T", "solo", "sh", "-c", "echo host=$HOSTNAME; touch /data/x; ls /data",
                      timeout=60)
    host, listing = proc.stdout.split()
    assert re.fullmatch(r"host=[0-9a-f]{12}", host), proc.stdout
    assert listing == "x"
    assert f"{project.name}_back" in project.sf("network", "ls", file=False).stdout
    assert project.ps() == {}  # --rm: nothing left, and no service container was made


def test_run_detached_prints_the_id_and_its_hostname_is_the_short_id(project: Project) -> None:
    project.write(STACK)
    cid = project.sf("run", "-d", "solo", "sh", "-c", "hostname; exec sleep 1000", timeout=60).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid), cid
    deadline = time.monotonic() + 10
    while (out := project.sf("logs", "--no-log-prefix").stdout.strip()) != cid[:12]:
        assert time.monotonic() < deadline, out
        time.sleep(0.1)
    (row,) = project.ps().values()
    assert row["ID"] == cid[:12] and str(row["Name"]).startswith(f"{project.name}-solo-run-")


def test_down_leaves_one_off_containers_as_compose(project: Project) -> None:
    project.write(STACK)
    project.sf("up", "-d")
    cid = project.sf("run", "-d", "solo", "sleep", "1000").stdout.strip()
    oneoff = next(name for name, row in project.ps().items() if row["ID"] == cid[:12])
    down = project.sf("down", "-t", "0", "--remove-orphans")
    assert f"one-off container {oneoff} is still running" in down.stderr
    assert list(project.ps()) == [oneoff]  # the service's container went, the running one-off stays
    project.sf("container", "stop", "-t", "0", cid[:12], file=False)
    project.sf("down")
    assert list(project.ps()) == [oneoff]  # exited, it is an orphan: kept without --remove-orphans
    project.sf("down", "--remove-orphans")
    assert project.ps() == {}
    assert f"{project.name}_back" not in project.sf("network", "ls", file=False).stdout


def test_run_waits_for_a_healthy_dependency(project: Project) -> None:
    """db gets ready after 2 s (and says so in a shared volume); the one-off must see it ready."""
    project.write("""\
services:
  db:
    image: busybox
    command: ["sh", "-c", "sleep 2; touch /shared/ready; exec sleep 1000"]
    stop_signal: SIGKILL
    volumes: ["shared:/shared"]
    healthcheck: {test: ["CMD", "test", "-f", "/shared/ready"], interval: 200ms, retries: 100}
  app:
    image: busybox
    volumes: ["shared:/shared"]
    depends_on:
      db: {condition: service_healthy}
volumes:
  shared:
""")
    proc = project.sf("run", "--rm", "-T", "app", "sh", "-c", "test -f /shared/ready && echo ready-seen",
                      check=False, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ready-seen", (proc.stdout, proc.stderr)
