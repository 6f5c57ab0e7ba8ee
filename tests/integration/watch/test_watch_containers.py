"""Watch against a real running container: sync through /proc/<pid>/root, restart, exec."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from stackfile.events import Event
from stackfile.watch.events import WatchAction
from stackfile.watch.rules import Action, WatchRule
from stackfile.watch.session import WatchSession
from tests.conftest import needs_root
from tests.integration.watch.conftest import Box, RuntimeTarget

pytestmark = needs_root


def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def test_sync_into_a_running_container(box: Box, tmp_path: Path) -> None:
    src = tmp_path / "site"
    src.mkdir()
    (src / "index.html").write_text("v1\n")
    events: list[Event] = []
    rule = WatchRule("web", Action.SYNC, src, "/app", initial_sync=True)
    with WatchSession([rule], RuntimeTarget(box), events.append) as session:
        # the initial sync replaced the image's stale file with the host tree
        assert box.get("index.html") == "v1\n"
        assert not (box.root / "app" / "stale.html").exists()
        st = (box.root / "app" / "index.html").stat()
        assert (st.st_uid, st.st_gid) == (1000, 1000)  # the owner of /app in the image
        # an editor-style save: temp file + rename
        tmp = src / ".index.html.tmp"
        tmp.write_text("v2\n")
        os.rename(tmp, src / "index.html")
        wait_for(lambda: box.get("index.html") == "v2\n")
        (src / "css").mkdir()
        (src / "css" / "site.css").write_text("body{}\n")
        wait_for(lambda: (box.root / "app" / "css" / "site.css").exists())
        assert box.get("css/site.css") == "body{}\n"
        (src / "css" / "site.css").unlink()
        (src / "css").rmdir()
        wait_for(lambda: not (box.root / "app" / "css").exists())
        assert session.settle()
    actions = [e for e in events if isinstance(e, WatchAction)]
    assert actions and all(a.action == "sync" for a in actions)
    assert not any(name.startswith(".") for name in os.listdir(box.root / "app"))  # no temp files


def test_a_symlink_in_the_container_cannot_redirect_writes_to_the_host(box: Box, tmp_path: Path) -> None:
    marker = f"stackfile-watch-escape-{os.getpid()}"
    os.symlink("/tmp", box.root / "app" / "escape")
    src = tmp_path / "src"
    src.mkdir()
    try:
        rule = WatchRule("web", Action.SYNC, src, "/app/escape")
        with WatchSession([rule], RuntimeTarget(box)) as session:
            (src / marker).write_text("x")
            wait_for(lambda: (box.root / "tmp" / marker).exists())
            assert session.settle()
        assert not Path("/tmp", marker).exists()
    finally:
        (box.root / "app" / "escape").unlink()
        (box.root / "tmp" / marker).unlink(missing_ok=True)


def test_sync_restart_and_sync_exec_on_the_container(box: Box, tmp_path: Path) -> None:
    src = tmp_path / "conf"
    src.mkdir()
    target = RuntimeTarget(box)
    rules = [WatchRule("web", Action.SYNC_RESTART, src, "/app/conf", index=0),
             WatchRule("web", Action.SYNC_EXEC, tmp_path / "hook.txt", "/app/hook.txt", index=1,
                       exec_command=("sh", "-c", "cp /app/hook.txt /app/hooked.txt"))]
    started = box.runtime.inspect(box.id).started_at
    with WatchSession(rules, target) as session:
        (src / "a.conf").write_text("a\n")
        assert session.settle()
        assert target.calls == ["restart"]
        assert box.runtime.inspect(box.id).started_at != started
        wait_for(lambda: _answers(box, "conf/a.conf", "a\n"))
        (tmp_path / "hook.txt").write_text("hooked\n")
        assert session.settle()
        assert target.calls == ["restart", "exec"]
        assert (box.root / "app" / "hooked.txt").read_text() == "hooked\n"


def _answers(box: Box, path: str, text: str) -> bool:
    try:
        return box.get(path, timeout=0.5) == text
    except OSError:
        return False
