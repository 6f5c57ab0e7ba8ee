"""Compose CLI details a Compose user reaches for: ``ps --format`` Go templates, ``top`` with user
names from the container's /etc/passwd."""

from __future__ import annotations

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """\
services:
  web:
    image: busybox
    user: www-data
    command: [sleep, "1001"]
    stop_signal: SIGKILL
  db:
    image: busybox
    user: "4242:4242"
    command: [sleep, "1002"]
    stop_signal: SIGKILL
"""


def test_ps_format_go_templates(project: Project) -> None:
    p = project
    p.write(STACK)
    p.sf("up", "-d")
    assert p.sf("ps", "--format", "{{.Name}}").stdout.split() == [f"{p.name}-db-1", f"{p.name}-web-1"]
    table = p.sf("ps", "--format", "table {{.Service}}\\t{{.State}}").stdout.splitlines()
    assert table == ["SERVICE   STATE", "db        running", "web       running"]
    bad = p.sf("ps", "--format", "{{.Nope}}", check=False)
    assert bad.returncode == 15 and "can't evaluate field Nope" in bad.stderr and ".Service" in bad.stderr


def test_top_shows_user_names_from_the_container(project: Project) -> None:
    p = project
    p.write(STACK)
    p.sf("up", "-d")
    out = p.sf("top").stdout
    users = {line.split()[-1]: line.split()[2] for line in out.splitlines()
             if line.split() and line.split()[-1] in ("1001", "1002")}
    assert users == {"1001": "www-data", "1002": "4242"}, out  # 4242 has no name in the image


def test_up_shows_the_build_steps_as_build_does(project: Project) -> None:
    """Numbered steps with their times, then the summary: the same lines from ``up`` as ``build``."""
    import re

    p = project
    app = p.workdir / "app"
    app.mkdir()
    (app / "x").write_text("x\n")
    p.write("services:\n  app:\n    build: ./app\n    command: [sleep, '1000']\n    stop_signal: SIGKILL\n")

    def steps(stderr: str) -> list[str]:
        shown = [re.sub(r"\d+\.\d\ds", "T", line) for line in stderr.splitlines()
                 if line.startswith(("[", "built "))]
        return [re.sub(r" [0-9a-f]{12} ", " ID ", line) for line in shown]

    (app / "Dockerfile").write_text("FROM busybox\nRUN echo one > /a\nCOPY x /x\n")
    built = steps(p.sf("build").stderr)
    (app / "Dockerfile").write_text("FROM busybox\nRUN echo two > /a\nCOPY x /x\n")
    upped = steps(p.sf("up", "-d").stderr)
    image = f"{p.name}-app"
    assert built == [f"[{image} 1/2] RUN echo one > /a  T", f"[{image} 2/2] COPY x /x  T",
                     f"built {image} ID in T (2 ran, 0 cached)"]
    assert upped == [line.replace("one", "two") for line in built]
