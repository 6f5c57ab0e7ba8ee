"""The store's event journal: records in Docker's shape, time windows, bounded size, following
across a rotation, concurrent writers."""

from __future__ import annotations

import json
import os
import threading
import time
from multiprocessing import Process
from pathlib import Path

from stackfile.store import journal


def test_record_has_dockers_fields(tmp_path: Path) -> None:
    journal.record(str(tmp_path), "container", "die", "abc", {"name": "web-1", "image": "app", "exitCode": 3},
                   time_ns=1_700_000_000_123_456_789)
    (event,) = list(journal.read(str(tmp_path)))
    assert event == {"Type": "container", "Action": "die", "status": "die", "id": "abc", "from": "app",
                     "Actor": {"ID": "abc", "Attributes": {"name": "web-1", "image": "app", "exitCode": "3"}},
                     "scope": "local", "time": 1_700_000_000, "timeNano": 1_700_000_000_123_456_789}
    journal.record(str(tmp_path), "network", "create", "n1", {"name": "front"})
    assert "status" not in list(journal.read(str(tmp_path)))[1]


def test_since_and_until_select_a_window(tmp_path: Path) -> None:
    for i in range(5):
        journal.record(str(tmp_path), "volume", "create", f"v{i}", time_ns=(i + 1) * 10**9)
    ids = [e["Actor"]["ID"] for e in journal.read(str(tmp_path), since_ns=2 * 10**9, until_ns=4 * 10**9)]  # type: ignore[index]
    assert ids == ["v1", "v2", "v3"]


def test_missing_root_loses_the_record_without_raising(tmp_path: Path) -> None:
    journal.record(str(tmp_path / "absent"), "volume", "create", "v")
    assert list(journal.read(str(tmp_path / "absent"))) == []


def test_rotation_bounds_the_size_and_keeps_the_order(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(journal, "MAX_BYTES", 2000)
    for i in range(100):
        journal.record(str(tmp_path), "volume", "create", f"v{i}")
    size = os.path.getsize(tmp_path / journal.FILE)
    assert size <= 2000 + 300 and os.path.getsize(tmp_path / (journal.FILE + ".1")) <= 2000 + 300
    ids = [int(str(e["Actor"]["ID"])[1:]) for e in journal.read(str(tmp_path))]  # type: ignore[index]
    assert ids == sorted(ids) and ids[-1] == 99 and len(ids) < 100


def test_follow_sees_new_events_across_a_rotation(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(journal, "MAX_BYTES", 1500)
    journal.record(str(tmp_path), "volume", "create", "before")
    seen: list[str] = []
    stop = threading.Event()

    def follow() -> None:
        for event in journal.read(str(tmp_path), follow=True, stopped=stop.is_set):
            seen.append(str(event["Actor"]["ID"]))  # type: ignore[index]

    reader = threading.Thread(target=follow)
    reader.start()
    try:
        time.sleep(0.3)
        for i in range(30):  # several rotations; the reader polls every 0.1 s
            journal.record(str(tmp_path), "volume", "create", f"v{i}")
            time.sleep(0.02)
        deadline = time.monotonic() + 5
        while "v29" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        reader.join(5)
    assert seen[0] == "before" and "v29" in seen
    assert seen == sorted(seen, key=lambda s: -1 if s == "before" else int(s[1:]))


def _write_many(root: str, tag: str) -> None:
    for i in range(200):
        journal.record(root, "container", "start", f"{tag}{i}", {"name": "x" * 200})


def test_concurrent_writers_never_tear_records(tmp_path: Path) -> None:
    writers = [Process(target=_write_many, args=(str(tmp_path), t)) for t in "abcd"]
    for w in writers:
        w.start()
    for w in writers:
        w.join(30)
    lines = (tmp_path / journal.FILE).read_bytes().splitlines()
    assert len(lines) == 800
    assert all(json.loads(line)["Actor"]["Attributes"]["name"] == "x" * 200 for line in lines)


def test_follow_waits_for_a_journal_that_does_not_exist_yet(tmp_path: Path) -> None:
    """No file yet: the follower polls (it does not spin) and picks the file up once made."""
    seen: list[str] = []
    stop = threading.Event()

    def follow() -> None:
        for event in journal.read(str(tmp_path), follow=True, stopped=stop.is_set):
            seen.append(str(event["Actor"]["ID"]))  # type: ignore[index]

    reader = threading.Thread(target=follow)
    started = time.process_time()
    reader.start()
    try:
        time.sleep(0.5)
        journal.record(str(tmp_path), "volume", "create", "late")
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        reader.join(5)
    assert seen == ["late"]
    assert time.process_time() - started < 0.3  # polling, not spinning, while the file was missing
