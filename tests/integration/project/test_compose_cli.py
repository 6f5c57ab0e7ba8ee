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
