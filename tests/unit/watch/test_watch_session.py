"""Whole sessions with a real watchdog observer and real files: each action, editor saves, deletions,
bursts, rebuilds, ignored paths and the initial sync. Container roots are real directories here;
tests/integration/watch runs the same against real containers."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stackfile.events import Event
from stackfile.watch.events import WatchAction
from stackfile.watch.rules import Action, WatchRule
from stackfile.watch.session import WatchSession
from tests.unit.watch.dirtarget import DirTarget


class Project:
    def __init__(self, base: Path) -> None:
        self.host = base / "host"
        self.root = base / "root"
        (self.host / "src").mkdir(parents=True)
        (self.root / "app").mkdir(parents=True)
        self.events: list[Event] = []

    def actions(self, service: str | None = None) -> list[WatchAction]:
        return [e for e in self.events if isinstance(e, WatchAction) and service in (None, e.service)]


@pytest.fixture()
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture()
def start(project: Project) -> Iterator[Callable[..., tuple[WatchSession, DirTarget]]]:
    made: list[tuple[WatchSession, DirTarget]] = []

    def _start(*rules: WatchRule, processes: tuple[str, ...] = ()) -> tuple[WatchSession, DirTarget]:
        target = DirTarget({r.service: project.root for r in rules}, processes)
        session = WatchSession(rules, target, project.events.append)
        made.append((session, target))
        try:
            session.start()
        except BaseException:
            target.close()
            raise
        return session, target

    yield _start
    for session, target in made:
        session.stop()
        target.close()


def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def sync_rule(project: Project, action: Action = Action.SYNC, **kw: object) -> WatchRule:
    return WatchRule("web", action, project.host / "src", "/app", **kw)  # type: ignore[arg-type]


def test_sync_edit_new_dir_and_deletions_reach_the_container(project: Project, start: Callable) -> None:
    session, _ = start(sync_rule(project))
    src, app = project.host / "src", project.root / "app"
    (src / "main.py").write_text("print(1)\n")
    wait_for(lambda: (app / "main.py").exists())
    (src / "pkg" / "sub").mkdir(parents=True)
    (src / "pkg" / "sub" / "m.py").write_text("x = 1\n")
    wait_for(lambda: (app / "pkg" / "sub" / "m.py").exists())
    (src / "main.py").unlink()
    subprocess.run(["rm", "-r", str(src / "pkg")], check=True)
    wait_for(lambda: not (app / "main.py").exists() and not (app / "pkg").exists())
    assert session.settle()
    assert sorted(os.listdir(app)) == []
    assert all(a.action == "sync" and a.rules == ("web.develop.watch[0]",) for a in project.actions())


def test_an_editor_atomic_save_gives_exactly_one_action(project: Project, start: Callable) -> None:
    target = project.host / "src" / "app.py"
    target.write_text("v0\n")
    session, _ = start(sync_rule(project, Action.SYNC_RESTART), processes=("web",))
    assert session.settle()
    before = len(project.actions())
    # vim's write test, a swap file, then temp file + fsync + rename over the original
    (project.host / "src" / "4913").write_text("")
    (project.host / "src" / "4913").unlink()
    (project.host / "src" / ".app.py.swp").write_bytes(b"swap")
    tmp = project.host / "src" / ".app.py.tmp123"
    with open(tmp, "w") as fh:
        fh.write("v1\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.rename(tmp, target)
    assert session.settle()
    (action,) = project.actions()[before:]  # a slow fsync may split the save in two batches: merged
    assert action.action == "sync+restart" and str(target) in action.files
    assert (project.root / "app" / "app.py").read_text() == "v1\n"
    assert sorted(os.listdir(project.root / "app")) == ["app.py"]


def test_sync_restart_restarts_the_process_once(project: Project, start: Callable) -> None:
    session, target = start(sync_rule(project, Action.SYNC_RESTART), processes=("web",))
    pid = target.procs["web"].pid
    (project.host / "src" / "a.txt").write_text("a")
    assert session.settle()
    assert target.count("restart", "web") == 1 and target.procs["web"].pid != pid
    assert (project.root / "app" / "a.txt").read_text() == "a"


def test_a_burst_of_1000_changes_is_one_restart(project: Project, start: Callable) -> None:
    rule = WatchRule("web", Action.RESTART, project.host / "src")
    session, target = start(rule, processes=("web",))
    for i in range(1000):
        d = project.host / "src" / f"d{i % 10}"
        d.mkdir(exist_ok=True)
        (d / f"f{i}.txt").write_text(str(i))
    assert session.settle()
    assert target.count("restart", "web") == 1
    (action,) = project.actions()
    assert action.action == "restart" and len(action.files) > 900


def test_a_dependency_file_change_is_one_rebuild(project: Project, start: Callable) -> None:
    req = project.host / "requirements.txt"
    req.write_text("flask\n")
    session, target = start(sync_rule(project), WatchRule("web", Action.REBUILD, req, index=1))
    with open(req, "a") as fh:
        fh.write("redis\n")
    (project.host / "src" / "x.py").write_text("x")  # the rebuild takes the new source too
    assert session.settle()
    assert target.calls == [("rebuild", "web")]
    assert [a.action for a in project.actions()] == ["rebuild"]


def test_sync_exec_runs_the_command_after_syncing(project: Project, start: Callable) -> None:
    rule = sync_rule(project, Action.SYNC_EXEC, exec_command=("sh", "-c", "cat app/conf > reloaded"))
    session, target = start(rule)
    (project.host / "src" / "conf").write_text("level=debug\n")
    assert session.settle()
    assert target.calls == [("exec", "web")]
    assert (project.root / "reloaded").read_text() == "level=debug\n"


def test_ignored_paths_cause_no_action(project: Project, start: Callable) -> None:
    from stackfile.watch.ignore import patterns

    session, target = start(sync_rule(project, Action.SYNC_RESTART, ignore=patterns(["logs/"])),
                            processes=("web",))
    src = project.host / "src"
    for rel in (".git/index", "__pycache__/m.cpython-311.pyc", "logs/app.log", "a.py.swp", "b~", ".#c",
                ".DS_Store"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("x")
    assert session.settle(quiet=0.1)
    assert project.actions() == [] and target.calls == []
    assert os.listdir(project.root / "app") == []


def test_include_selects_only_matching_files(project: Project, start: Callable) -> None:
    from stackfile.watch.ignore import patterns

    session, target = start(WatchRule("web", Action.RESTART, project.host / "src",
                                      include=patterns(["*.conf"])))
    (project.host / "src" / "readme.md").write_text("x")
    assert session.settle()
    assert target.calls == []
    (project.host / "src" / "site.conf").write_text("x")
    assert session.settle()
    assert target.calls == [("restart", "web")]


def test_initial_sync_makes_the_container_match_the_host(project: Project, start: Callable) -> None:
    (project.host / "src" / "a.py").write_text("a")
    (project.host / "src" / "lib").mkdir()
    (project.host / "src" / "lib" / "b.py").write_text("b")
    (project.host / "src" / ".git").mkdir()
    (project.host / "src" / ".git" / "HEAD").write_text("ref")
    (project.root / "app" / "stale.py").write_text("old")
    (project.root / "app" / "a.py").write_text("old a")
    start(sync_rule(project, initial_sync=True))
    app = project.root / "app"
    assert sorted(str(p.relative_to(app)) for p in app.rglob("*")) == ["a.py", "lib", "lib/b.py"]
    assert (app / "a.py").read_text() == "a"
    kinds = [e.kind for e in project.events]
    assert kinds[:2] == ["watch.start", "watch.initial-sync"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_git_checkout_of_1000_files_is_one_restart(project: Project, start: Callable) -> None:
    src = project.host / "src"

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=src, check=True,
                       capture_output=True)

    git("init", "-q", "-b", "main")
    for i in range(1000):
        (src / f"m{i % 20}").mkdir(exist_ok=True)
        (src / f"m{i % 20}" / f"f{i}.py").write_text(f"v = {i}\n")
    git("add", "-A")
    git("commit", "-q", "-m", "one")
    git("checkout", "-q", "-b", "two")
    for i in range(1000):
        (src / f"m{i % 20}" / f"f{i}.py").write_text(f"v = {i + 1}\n")
    git("commit", "-q", "-am", "two")
    git("checkout", "-q", "main")
    session, target = start(WatchRule("web", Action.RESTART, src), processes=("web",))
    git("checkout", "-q", "two")
    assert session.settle()
    assert target.count("restart", "web") == 1, [(len(a.files), a.latency) for a in project.actions()]
    (action,) = project.actions()
    assert len(action.files) == 1000  # .git/ changes were ignored


def test_a_missing_path_is_awaited_but_a_missing_directory_refused(project: Project, start: Callable) -> None:
    from stackfile.errors import NotFound

    with pytest.raises(NotFound) as err:
        start(WatchRule("web", Action.REBUILD, project.host / "nope" / "requirements.txt"))
    assert err.value.location is not None
    assert err.value.location.key_path == "services.web.develop.watch[0].path"
    session, target = start(WatchRule("web", Action.REBUILD, project.host / "requirements.txt"))
    assert "does not exist yet" in project.events[0].message
    (project.host / "requirements.txt").write_text("flask\n")
    assert session.settle()
    assert target.calls == [("rebuild", "web")]
