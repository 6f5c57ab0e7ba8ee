"""The console script's no-op ``up -d`` fast path (cli/project_fast.py) must never hide a change:
here the image a service names is rebuilt under the same name, as ``docker compose up -d`` would
notice and recreate."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = "services:\n  app:\n    image: app\n    init: true\n    command: [sleep, '1000']\n"


def fast_up(p: Project) -> None:
    """``stackfile ... up -d`` through the console script's entry point (the fast path first)."""
    cmd = [sys.executable, "-c", "from stackfile.cli.project_fast import main; main()",
           "--root", str(p.root), "-p", p.name, "-f", str(p.workdir / "stack.yaml"), "up", "-d"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=p.workdir,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr


def test_up_after_the_named_image_was_rebuilt_recreates_the_container(project: Project) -> None:
    p = project
    ctx = p.workdir / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo one > /v\n")
    p.sf("image", "build", "-t", "app", str(ctx), file=False)
    p.write(STACK)
    fast_up(p)
    (first,) = p.ps().values()
    fast_up(p)  # converged: answered by the fast path, nothing touched
    (again,) = p.ps().values()
    assert again["ID"] == first["ID"]
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo two > /v\n")
    p.sf("image", "build", "-t", "app", str(ctx), file=False)
    fast_up(p)
    (after,) = p.ps().values()
    assert after["ID"] != first["ID"]
    assert p.sf("exec", "-T", "app", "cat", "/v").stdout == "two\n"


PROBE = ("import sys\nfrom stackfile.cli.project_fast import main\ntry:\n    main()\n"
         "except SystemExit as exc:\n    print('click' in sys.modules, exc.code)\n")


def probe_up(p: Project, *extra: str) -> subprocess.CompletedProcess[str]:
    """The console entry point on ``up -d``; prints whether click was imported and the exit code."""
    cmd = [sys.executable, "-c", PROBE, "--root", str(p.root), "-p", p.name,
           "-f", str(p.workdir / "stack.yaml"), "up", "-d", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=p.workdir,
                          stdin=subprocess.DEVNULL)


def test_up_d_that_changes_things_runs_without_click_and_reports_like_click(project: Project) -> None:
    p = project
    p.write("services:\n  a:\n    image: busybox\n    command: [sleep, '1000']\n"
            "  b:\n    image: busybox\n    command: [sleep, '1000']\n    depends_on: [a]\n")
    proc = probe_up(p)
    assert proc.stdout.split() == ["False", "0"], proc.stderr
    assert "Container" in proc.stderr and "Started" in proc.stderr  # the same progress lines
    assert {r["Service"]: r["State"] for r in p.ps().values()} == {"a": "running", "b": "running"}

    bad = probe_up(p, "nosuch")
    assert bad.stdout.split() == ["False", "14"]
    via_click = p.sf("up", "-d", "--no-color", "nosuch", check=False)  # --no-color: the click path
    assert (via_click.returncode, via_click.stderr) == (14, bad.stderr)


def test_a_no_op_up_d_says_each_container_is_running_on_every_path(project: Project) -> None:
    """As Compose prints it: `` ✔ Container NAME  Running`` for each container left as it was,
    from the fast path, the click command and a full plan that changes only one service."""
    p = project
    p.write("services:\n  a:\n    image: busybox\n    command: [sleep, '1000']\n"
            "  b:\n    image: busybox\n    command: [sleep, '1000']\n    depends_on: [a]\n")
    p.sf("up", "-d")
    names = [f"{p.name}-a-1", f"{p.name}-b-1"]
    expected = [f" ✔ Container {n:<30} Running" for n in names]
    fast = probe_up(p)
    assert fast.stdout.split() == ["False", "0"], fast.stderr  # answered before click
    assert fast.stderr.splitlines() == expected
    via_click = p.sf("up", "-d", "--no-color")
    assert via_click.stderr.splitlines() == expected
    p.write("services:\n  a:\n    image: busybox\n    command: [sleep, '1000']\n"
            "  b:\n    image: busybox\n    command: [sleep, '1001']\n    depends_on: [a]\n")
    changed = p.sf("up", "-d").stderr.splitlines()
    assert expected[0] in changed and expected[1] not in changed
    assert any("Recreated" in line and names[1] in line for line in changed), changed
