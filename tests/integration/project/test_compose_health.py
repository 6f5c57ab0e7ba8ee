"""Health as Compose has it: an image's ``HEALTHCHECK`` is the service's default healthcheck
(``depends_on: service_healthy``, ``up --wait`` and ``ps`` all see it), and a dependency waited on
as healthy that has no healthcheck fails at once with Compose's message instead of hanging."""

from __future__ import annotations

import time

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

DOCKERFILE = """\
FROM busybox
HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD test -f /tmp/ready
CMD ["sh", "-c", "touch /tmp/ready; exec sleep 1000"]
"""

IMAGE_CHECK = """\
services:
  db:
    build: ./db
    stop_signal: SIGKILL
  app:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
    depends_on:
      db: {condition: service_healthy}
"""

NO_CHECK = """\
services:
  db:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
  app:
    image: busybox
    command: ["sleep", "1000"]
    depends_on:
      db: {condition: service_healthy}
"""


def _with_image_healthcheck(project: Project) -> None:
    (project.workdir / "db").mkdir()
    (project.workdir / "db" / "Dockerfile").write_text(DOCKERFILE)
    project.write(IMAGE_CHECK)


def test_the_images_healthcheck_gates_service_healthy_and_shows_in_ps(project: Project) -> None:
    _with_image_healthcheck(project)
    t0 = time.monotonic()
    project.sf("up", "-d", timeout=60)
    assert time.monotonic() - t0 < 30
    rows = {name.removeprefix(f"{project.name}-"): row for name, row in project.ps().items()}
    assert rows["db-1"]["Health"] == "healthy"
    assert rows["db-1"]["Status"].endswith("(healthy)")
    assert rows["app-1"]["State"] == "running"
    table = project.sf("ps").stdout
    assert "(healthy)" in next(line for line in table.splitlines() if "db-1" in line)


def test_up_wait_succeeds_on_an_image_healthcheck(project: Project) -> None:
    _with_image_healthcheck(project)
    project.sf("up", "-d", "--wait", "--wait-timeout", "30", "db", timeout=60)
    (row,) = project.ps("db").values()
    assert row["Health"] == "healthy"


def test_a_service_healthy_dependency_without_a_healthcheck_fails_at_once(project: Project) -> None:
    project.write(NO_CHECK)
    t0 = time.monotonic()
    proc = project.sf("up", "-d", check=False, timeout=60)
    assert time.monotonic() - t0 < 20
    assert proc.returncode != 0
    assert (f"dependency failed to start: container {project.name}-db-1 has no healthcheck configured"
            in proc.stderr)
    states = {name.removeprefix(f"{project.name}-"): row["State"] for name, row in project.ps().items()}
    assert states["db-1"] == "running" and states["app-1"] == "created"


def test_a_disabled_healthcheck_is_no_healthcheck(project: Project) -> None:
    _with_image_healthcheck(project)
    disabled = "    build: ./db\n    healthcheck: {disable: true}\n"
    project.write(IMAGE_CHECK.replace("    build: ./db\n", disabled))
    proc = project.sf("up", "-d", check=False, timeout=60)
    assert proc.returncode != 0
    assert "has no healthcheck configured" in proc.stderr


def test_an_image_referenced_by_name_brings_its_healthcheck(project: Project) -> None:
    """Not built by the stack: an image built before (``image build -t``) and named by ``image:``."""
    (project.workdir / "db").mkdir()
    (project.workdir / "db" / "Dockerfile").write_text(DOCKERFILE)
    tag = f"{project.name}-hc:1"
    project.sf("image", "build", "-t", tag, str(project.workdir / "db"), file=False, timeout=60)
    project.write(IMAGE_CHECK.replace("    build: ./db\n", f"    image: {tag}\n"))
    project.sf("up", "-d", "--wait", "--wait-timeout", "30", timeout=60)
    rows = {name.removeprefix(f"{project.name}-"): row for name, row in project.ps().items()}
    assert rows["db-1"]["Health"] == "healthy" and rows["app-1"]["State"] == "running"
    assert "(healthy)" in next(line for line in project.sf("ps").stdout.splitlines() if "db-1" in line)
