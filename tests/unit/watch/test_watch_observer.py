"""The observer: fewest watches, polling fallback, and kernel limits reported with the sysctl."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.watch.observer import Change, TreeObserver, filesystem_of, watch_roots


def test_watch_roots_are_the_fewest_covering_watches(tmp_path: Path) -> None:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "requirements.txt").write_text("")
    roots = watch_roots([tmp_path / "src", tmp_path / "src" / "pkg", tmp_path / "requirements.txt",
                         tmp_path / "missing.lock", tmp_path / "src" / "pkg" / "x.py"])
    assert roots == [(tmp_path, False), (tmp_path / "src", True)]


def _collect(observer_paths: list[Path], poll: bool) -> tuple[TreeObserver, list[Change], threading.Event]:
    seen: list[Change] = []
    got = threading.Event()

    def emit(changes: list[Change]) -> None:
        seen.extend(changes)
        got.set()

    return TreeObserver(observer_paths, emit, poll=poll, poll_interval=0.05), seen, got


@pytest.mark.parametrize("poll", [False, True])
def test_changes_in_the_deepest_directory_are_seen(tmp_path: Path, poll: bool) -> None:
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    observer, seen, got = _collect([tmp_path], poll)
    observer.start()
    try:
        assert bool(observer.polled) is poll
        time.sleep(0.06 if poll else 0)  # the poller's first snapshot
        (deep / "f.txt").write_text("x")
        assert got.wait(3.0)
    finally:
        observer.stop()
    assert str(deep / "f.txt") in {c.path for c in seen}


@pytest.mark.parametrize("poll", [False, True])
def test_inotify_says_when_a_writer_opens_and_closes_a_file(tmp_path: Path, poll: bool) -> None:
    """A write is ``open`` until its close (so the debouncer can wait for it); polling cannot tell."""
    (tmp_path / "f.txt").write_text("old, longer than the new text")
    observer, seen, _ = _collect([tmp_path], poll)
    link = tmp_path / "l"

    def seen_path(path: Path) -> None:
        deadline = time.monotonic() + 3.0
        while not any(c.path == str(path) for c in seen) and time.monotonic() < deadline:
            time.sleep(0.005)

    observer.start()
    try:
        time.sleep(0.06 if poll else 0)
        with open(tmp_path / "f.txt", "w") as f:  # IN_MODIFY (the truncate), then IN_CLOSE_WRITE
            f.write("new")
            f.flush()
            seen_path(tmp_path / "f.txt")
        link.symlink_to("f.txt")  # IN_CREATE of a symlink: nothing will close it
        seen_path(link)
    finally:
        observer.stop()
    mine = [c.writer for c in seen if c.path == str(tmp_path / "f.txt")]
    links = [c.writer for c in seen if c.path == str(link)]
    if poll:
        assert mine and set(mine) == {""} and links == [""]
    else:
        assert mine[0] == "open" and mine[-1] == "closed", mine
        assert links == [""]


@pytest.fixture()
def shm_dir() -> Iterator[Path]:
    """A directory on tmpfs: creating 100,000 files on a busy disk can take a minute."""
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    base = Path(tempfile.mkdtemp(prefix="stackfile-watch-", dir=shm))
    try:
        yield base
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", str(base)], check=False)


def _inotify_watches() -> int:
    """How many inotify watches this process holds (the ``inotify wd:`` lines of its fdinfo)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify":
                count += Path(f"/proc/self/fdinfo/{fd}").read_text().count("inotify wd:")
        except OSError:
            continue
    return count


def test_a_100000_file_tree_is_watched_with_one_watch_per_directory(shm_dir: Path) -> None:
    make = "for d in $(seq -w 0 99); do mkdir d$d && (cd d$d && touch f{0..999}); done"
    subprocess.run(["bash", "-c", make], cwd=shm_dir, check=True)
    assert sum(len(os.listdir(shm_dir / d)) for d in os.listdir(shm_dir)) == 100_000
    observer, seen, got = _collect([shm_dir], False)
    before = _inotify_watches()
    observer.start()
    try:
        assert _inotify_watches() - before == 101  # the root and its 100 directories; files cost none
        (shm_dir / "d99" / "f999").write_text("changed")
        assert got.wait(3.0)
    finally:
        observer.stop()
    assert any(c.path.endswith("d99/f999") for c in seen)
    assert _inotify_watches() == before  # stop() released them


def _in_userns(limit: str, value: int, tree: Path) -> str:
    """Start a TreeObserver on ``tree`` in a fresh user namespace whose inotify ``limit`` is ``value``
    (only that namespace is affected); returns what it printed."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    script = (
        "from pathlib import Path\n"
        "from stackfile.errors import Unavailable\n"
        "from stackfile.watch.observer import TreeObserver\n"
        "try:\n"
        f"    TreeObserver([Path({str(tree)!r})], lambda c: None).start()\n"
        "    print('started')\n"
        "except Unavailable as e:\n"
        "    print(e.render())\n"
    )
    cmd = f"echo {value} > /proc/sys/user/{limit} && exec {sys.executable} -c \"$0\""
    result = subprocess.run(["unshare", "-Ur", "sh", "-c", cmd, script], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[3], check=False, timeout=30)
    if "Operation not permitted" in result.stderr or "Permission denied" in result.stderr:
        pytest.skip("user namespaces are not available here")
    return result.stdout + result.stderr


def test_the_watch_limit_is_reported_with_the_sysctl(tmp_path: Path) -> None:
    for d in "abcde":
        (tmp_path / d / "sub").mkdir(parents=True)
    out = _in_userns("max_inotify_watches", 3, tmp_path)
    assert "the inotify watch limit is reached (fs.inotify.max_user_watches=" in out, out
    assert "directories are not watched" in out and "sysctl -w fs.inotify.max_user_watches" in out
    assert _in_userns("max_inotify_watches", 11, tmp_path).strip() == "started"


def test_the_instance_limit_is_reported_with_the_sysctl(tmp_path: Path) -> None:
    out = _in_userns("max_inotify_instances", 0, tmp_path)
    assert "too many inotify instances (fs.inotify.max_user_instances=" in out, out
    assert "sysctl -w fs.inotify.max_user_instances" in out


def test_filesystem_of_reads_mountinfo() -> None:
    assert filesystem_of(Path("/proc/self")) == "proc"
