"""watch.json: a live watcher shows, a stale or reused pid does not, stop_watch ends it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from stackfile.store.paths import StorePaths
from stackfile.watch.state import clear_state, record_state, state_file, stop_watch, watch_status

CHILD = textwrap.dedent("""
    import signal, sys, time
    from stackfile.store.paths import StorePaths
    from stackfile.watch.state import clear_state, record_state
    paths = StorePaths.at(sys.argv[1])
    state = record_state(paths, "demo", ("web",), detached=True)
    signal.signal(signal.SIGTERM, lambda *a: (clear_state(paths, "demo", state.pid), sys.exit(0)))
    print("ready", flush=True)
    time.sleep(60)
""")


def test_a_recorded_watcher_is_seen_then_stopped(tmp_path: Path) -> None:
    paths = StorePaths.at(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[3])
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        state = watch_status(paths, "demo")
        assert state is not None and state.pid == child.pid and state.services == ("web",) and state.detached
        started = time.monotonic()
        assert stop_watch(paths, "demo") is True
        assert time.monotonic() - started < 5
        assert child.wait(5) == 0
        assert watch_status(paths, "demo") is None and not state_file(paths, "demo").exists()
        assert stop_watch(paths, "demo") is False
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_stale_record_is_dropped(tmp_path: Path) -> None:
    paths = StorePaths.at(tmp_path)
    state = record_state(paths, "demo", ("web",), detached=False)
    record = json.loads(state_file(paths, "demo").read_text())
    record["proc_start"] += 1  # as if our pid now belonged to another process
    state_file(paths, "demo").write_text(json.dumps(record))
    assert watch_status(paths, "demo") is None and not state_file(paths, "demo").exists()
    record_state(paths, "demo", ("web",), detached=False)
    clear_state(paths, "demo", state.pid + 1)  # not ours: kept
    assert watch_status(paths, "demo") is not None
    clear_state(paths, "demo", state.pid)
    assert watch_status(paths, "demo") is None
