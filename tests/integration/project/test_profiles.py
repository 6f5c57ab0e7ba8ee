"""Profiles as Compose applies them: naming a profiled service on ``up`` enables it (and its
profiles), a running container of a service left out by profiles is no orphan, and ``down``
without ``--profile`` removes it and the network."""

from __future__ import annotations

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """
services:
  main:
    image: busybox
    init: true
    command: ["sleep", "1000"]
  debug:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    profiles: [dbg]
    depends_on: [helper]
  helper:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    profiles: [dbg]
  tools:
    image: busybox
    command: ["true"]
    profiles: [dbg]
"""


def _running(p: Project) -> set[str]:
    return {name for name, row in p.ps().items() if row["State"] == "running"}


def test_named_profiled_service_starts_and_down_removes_it(project: Project) -> None:
    p = project
    p.write(STACK)
    p.sf("up", "-d")
    assert set(p.ps()) == {f"{p.name}-main-1"}
    assert p.sf("run", "--rm", "-T", "--no-deps", "tools", "echo", "ran").stdout.strip() == "ran"

    p.sf("up", "-d", "debug")  # enabled with its profile: its dependency comes along, tools does not
    assert _running(p) == {f"{p.name}-{s}-1" for s in ("main", "debug", "helper")}
    assert "orphan" not in p.sf("up", "-d").stderr  # a disabled service is no orphan
    assert "orphan" not in p.sf("up", "-d", "--remove-orphans").stderr
    assert _running(p) == {f"{p.name}-{s}-1" for s in ("main", "debug", "helper")}
    assert p.sf("stop", "debug").returncode == 0  # found, although its profile is inactive
    assert p.ps("debug")[f"{p.name}-debug-1"]["State"] == "exited"

    p.sf("down", "-t", "1")  # no --profile
    assert p.ps() == {}
    assert p.sf("network", "ls", "-q", file=False).stdout.strip() == ""


def test_unknown_service_is_still_refused(project: Project) -> None:
    p = project
    p.write(STACK)
    out = p.sf("up", "-d", "nope", check=False)
    assert out.returncode != 0 and "no such service: nope" in out.stderr
