"""run_watch end to end on the quickstart example: up, sync into the running web container,
sync+restart, rebuild (a recreate), the watch.json state, and stop."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stackfile.cli.main import GlobalOptions
from stackfile.engine.project import DownOptions, down
from stackfile.engine.project_context import open_project
from stackfile.engine.watch import run_watch, start_detached_watch, stop_watch, watch_status
from stackfile.errors import Conflict, InvalidSpec, NotFound
from stackfile.events import Event
from stackfile.reconcile import labels as L
from stackfile.watch.state import WatchState
from tests.conftest import needs_root

pytestmark = needs_root

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "quickstart"
OVERRIDE = """\
services:
  web:
    ports: !reset []
    develop:
      watch:
        - {action: sync, path: ./site, target: /srv/site, initial_sync: true}
        - {action: sync+restart, path: ./conf, target: /etc/web}
        - {action: rebuild, path: ./deps.txt}
"""


def wait_for(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.fixture()
def project(tmp_path: Path, store_root: Path) -> Iterator[tuple[GlobalOptions, Path]]:
    work = tmp_path / "quickstart"
    shutil.copytree(EXAMPLE, work)
    (work / "watch.yaml").write_text(OVERRIDE)
    for d in ("site", "conf"):
        (work / d).mkdir()
    (work / "site" / "index.html").write_text("v0\n")
    (work / "deps.txt").write_text("a\n")
    opts = GlobalOptions(files=[str(work / "stack.yaml"), str(work / "watch.yaml")], root=str(store_root),
                         environ={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    try:
        yield opts, work
    finally:
        down(opts, DownOptions(volumes=True))


def test_run_watch_on_the_quickstart(project: tuple[GlobalOptions, Path]) -> None:
    opts, work = project
    events: list[Event] = []
    stop, ready = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def watcher() -> None:
        try:
            run_watch(opts, ["web"], sink=events.append, stop=stop, ready=ready)
        except BaseException as exc:
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=watcher)
    thread.start()
    try:
        assert ready.wait(120) and not errors, errors
        ctx = open_project(opts)
        state = watch_status(ctx.paths, ctx.name)
        assert state is not None and state.services == ("web",)

        def web() -> str:
            (status,) = [s for s in ctx.containers(all=False) if s.labels.get(L.SERVICE) == "web"]
            return str(status.id)

        def inside(path: str) -> str | None:
            # A sync+restart stops the container for a moment: "not running" (Conflict), or no
            # running web container at all (ValueError), means "not yet", like a missing file.
            try:
                return (Path(ctx.runtime.rootfs_path(web())) / path.lstrip("/")).read_text()
            except (OSError, ValueError, Conflict, NotFound):
                return None

        def started_at() -> str | None:
            try:
                return ctx.runtime.inspect(web()).started_at
            except (ValueError, NotFound):
                return None

        assert inside("/srv/site/index.html") == "v0\n"  # the initial sync
        (work / "site" / "index.html").write_text("v1\n")
        wait_for(lambda: inside("/srv/site/index.html") == "v1\n")
        started = started_at()
        assert started is not None
        (work / "conf" / "web.conf").write_text("x=1\n")
        wait_for(lambda: inside("/etc/web/web.conf") == "x=1\n" and started_at() not in (None, started))
        old = web()
        (work / "deps.txt").write_text("b\n")
        wait_for(lambda: any(getattr(e, "action", "") == "rebuild" for e in events), timeout=60)
        assert web() != old  # recreated
        kinds = [(getattr(e, "action", ""), getattr(e, "rules", ()))
                 for e in events if e.kind == "watch.action"]
        assert kinds == [("sync", ("web.develop.watch[0]",)), ("sync+restart", ("web.develop.watch[1]",)),
                         ("rebuild", ("web.develop.watch[2]",))]
        # each action is journalled for ``events`` (type watch), in the order it was done
        from stackfile.engine.events import events as journal_events

        watched = [(e.action, e.id, e.attributes["service"]) for e in journal_events(
            ctx.paths.root_str, since_ns=0, until_ns=time.time_ns(), filters={"type": ["watch"]})]
        assert watched == [("sync", ctx.name, "web"), ("sync+restart", ctx.name, "web"),
                           ("rebuild", ctx.name, "web")]
    finally:
        stop.set()
        thread.join(30)
    ctx = open_project(opts)
    assert watch_status(ctx.paths, ctx.name) is None


def test_a_detached_watcher_shows_in_status_and_stops(project: tuple[GlobalOptions, Path]) -> None:
    opts, work = project
    state = start_detached_watch(opts, ["web"])
    ctx = open_project(opts)
    try:
        assert state.detached and watch_status(ctx.paths, ctx.name) == state
        with pytest.raises(Conflict):
            start_detached_watch(opts, ["web"], no_up=True)
        (status,) = [s for s in ctx.containers(all=False) if s.labels.get(L.SERVICE) == "web"]
        _ps_shows_the_watcher(opts, state)
        inside = Path(ctx.runtime.rootfs_path(status.id)) / "srv" / "site" / "index.html"
        wait_for(lambda: inside.exists() and inside.read_text() == "v0\n")
        (work / "site" / "index.html").write_text("detached\n")
        wait_for(lambda: inside.read_text() == "detached\n")
    finally:
        assert stop_watch(ctx.paths, ctx.name) is True
    assert watch_status(ctx.paths, ctx.name) is None
    assert "sync web" in Path(state.log).read_text()


def _ps_shows_the_watcher(opts: GlobalOptions, state: WatchState) -> None:
    """``ps`` (table and JSON) names the detached watcher; only watched services carry it."""
    cmd = [sys.executable, "-m", "stackfile", "--root", str(opts.root)]
    for f in opts.files:
        cmd += ["-f", f]
    table = subprocess.run([*cmd, "ps"], capture_output=True, text=True, check=True, timeout=60).stdout
    line = table.splitlines()[-1]
    assert line.startswith(f"watch: pid {state.pid} (detached), Up "), table
    assert line.endswith(f"services: web, log {state.log}"), table
    out = subprocess.run([*cmd, "ps", "--format", "json"], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    rows = {r["Service"]: r for r in map(json.loads, out.splitlines())}
    assert set(rows) == {"data", "web"}, rows  # web and its dependency
    watch = rows["web"]["Watch"]
    assert (watch["Pid"], watch["Since"], watch["Services"], watch["Detached"], watch["Log"]) == \
        (state.pid, state.started_at, ["web"], True, state.log)
    assert watch["Status"].startswith("Up ")
    assert rows["data"]["Watch"] is None


def test_rebuild_with_prune_replaces_the_image_and_drops_the_old(tmp_path: Path, store_root: Path) -> None:
    work = tmp_path / "app"
    work.mkdir()
    (work / "Dockerfile").write_text("FROM busybox\nCOPY deps.txt /deps.txt\nCMD [\"sleep\", \"300\"]\n")
    (work / "deps.txt").write_text("one\n")
    (work / "stack.yaml").write_text(
        "services:\n  app:\n    build: .\n    init: true\n    network_mode: none\n"
        "    develop:\n      watch:\n        - {action: rebuild, path: ./deps.txt}\n")
    opts = GlobalOptions(files=[str(work / "stack.yaml")], root=str(store_root),
                         environ={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    events: list[Event] = []
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=run_watch, args=(opts, ()),
                              kwargs={"prune": True, "sink": events.append, "stop": stop, "ready": ready})
    thread.start()
    try:
        assert ready.wait(120)
        ctx = open_project(opts)

        def image() -> str:
            (status,) = [s for s in ctx.containers(all=False) if s.labels.get(L.SERVICE) == "app"]
            return str(status.labels[L.IMAGE])

        old = image()
        (work / "deps.txt").write_text("two\n")
        wait_for(lambda: any(e.kind == "watch.action" for e in events), timeout=60)
        new = image()
        assert new != old and ctx.images.resolve(new) is not None
        assert ctx.images.resolve(old) is None  # pruned
        (running,) = ctx.containers(all=False)
        root = Path(ctx.runtime.rootfs_path(running.id))
        assert (root / "deps.txt").read_text() == "two\n"
    finally:
        stop.set()
        thread.join(30)
        down(opts, DownOptions(volumes=True, rmi="local"))


def test_a_stack_without_watch_rules_is_refused_before_anything_starts(tmp_path: Path,
                                                                       store_root: Path) -> None:
    work = tmp_path / "plain"
    shutil.copytree(EXAMPLE, work)
    opts = GlobalOptions(files=[str(work / "stack.yaml")], root=str(store_root),
                         environ={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    try:
        for start in (start_detached_watch, run_watch):
            with pytest.raises(InvalidSpec, match=r"develop\.watch"):
                start(opts, [])
            ctx = open_project(opts)
            assert ctx.containers(all=True) == [] and watch_status(ctx.paths, ctx.name) is None
    finally:
        down(opts, DownOptions(volumes=True))
