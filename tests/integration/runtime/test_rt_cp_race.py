"""``cp`` against the symlink-exchange race of ``docker cp`` (CVE-2018-15664): a process rooted in the
container swaps a directory with a symlink to ``/`` in a tight loop while the host copies files and
trees in and out of that directory 100 times each way. Nothing outside the container may be written,
and a host file with the same name as a container file must never be what comes out."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.engine.container_fs import copy
from stackfile.errors import StackfileError
from stackfile.runtime.linux import rootpath
from tests.conftest import needs_root
from tests.integration.runtime.rtsupport import Env
from tests.integration.runtime.test_rt_path_race import escaped, flipping, tag

pytestmark = needs_root
__all__ = ["tag"]  # the fixture, used by name below

ROUNDS = 100


@pytest.fixture()
def plant() -> Iterator[str]:
    """A host file in ``/`` whose name the container's attacked directory also holds."""
    name = f"stackfile-plant-{uuid.uuid4().hex[:8]}"
    host = Path("/", name)
    host.write_text("HOST\n")
    try:
        yield name
    finally:
        host.unlink(missing_ok=True)


@pytest.mark.parametrize("fallback", [False, True], ids=["openat2", "walk"])
def test_cp_in_and_out_stay_inside_while_the_container_swaps_a_dir_for_a_link(
        env: Env, tmp_path: Path, tag: str, plant: str, fallback: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    if fallback:
        monkeypatch.setattr(rootpath, "_openat2_ok", False)  # every lookup through the O_NOFOLLOW walk
    elif not rootpath.openat2_available():
        pytest.skip("this kernel has no openat2 (the walk variant covers it)")
    cid = env.rt.create(env.spec(f"mkdir -p /w/d && echo inside > /w/d/{plant} && exec sleep 1000",
                                 stop_grace_seconds=0.1))
    env.rt.start(cid)
    src, out = tmp_path / "src", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    (src / "payload").write_text("copied in\n")
    (src / "sub" / "deep").write_text("copied in\n")
    out.mkdir()
    done = {"in": 0, "out": 0}
    try:
        root = env.rt.rootfs_path(cid)
        deadline = time.monotonic() + 5
        while not os.path.exists(f"{root}/w/d/{plant}") and time.monotonic() < deadline:
            time.sleep(0.02)
        with flipping(root, "/w/d", "/w/l"):
            for i in range(ROUNDS):
                for direction, s, d in (
                        ("in", str(src / "payload"), f"{cid}:/w/d/{tag}-{i}"),
                        ("in", str(src), f"{cid}:/w/d/{tag}-tree{i}"),
                        ("out", f"{cid}:/w/d/{plant}", str(out / f"file{i}")),
                        ("out", f"{cid}:/w/d", str(out / f"tree{i}")),
                        ("out", f"{cid}:/w/l/{plant}", str(out / f"followed{i}"))):
                    with contextlib.suppress(StackfileError):  # a path swapped away: a clean error
                        copy(env.paths, s, d, follow_link=d.endswith(f"followed{i}"))
                        done[direction] += 1
    finally:
        env.rt.remove(cid, force=True)
    assert done["in"] > ROUNDS // 4 and done["out"] > ROUNDS // 4, done
    assert escaped(tag) == []
    assert Path("/", plant).read_text() == "HOST\n"
    copied = [p for p in out.rglob("*") if p.is_file() and not p.is_symlink()]
    assert copied and all(p.read_text() in ("inside\n", "copied in\n") for p in copied)
    assert any(p.name.startswith("file") for p in copied)


def test_a_start_waits_for_a_copy_into_the_stopped_container(env: Env, tmp_path: Path) -> None:
    import threading

    from stackfile.engine.container_fs import view_of
    from stackfile.runtime.linux.fsview import Helper

    cid = env.rt.create(env.spec("cat /copied; exec sleep 1000", stop_grace_seconds=0.1))
    r, w = os.pipe2(os.O_CLOEXEC)

    def job(root: rootpath.Root) -> None:  # in the helper: hold the view until the test says so
        os.read(r, 1)
        root.write("/copied", b"written while stopped\n")

    helper = Helper(view_of(env.paths, cid, writable=True), job, close_in_child=(w,))
    os.close(r)
    started = threading.Event()
    thread = threading.Thread(target=lambda: (env.rt.start(cid), started.set()))
    try:
        time.sleep(0.3)  # the helper has mounted the overlay and holds the container's lock
        thread.start()
        assert not started.wait(0.5)  # start waits for the copy
        os.write(w, b"x")
        os.close(w)
        w = -1
        helper.wait()
        thread.join(10)
        assert started.is_set()
        deadline = time.monotonic() + 5
        while "written while stopped" not in "".join(line.text for line in env.rt.logs(cid)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        if w >= 0:  # a failure above: release the helper (EOF) and reap it
            os.close(w)
            with contextlib.suppress(StackfileError):
                helper.wait()
        if thread.is_alive():
            thread.join(10)
        env.rt.remove(cid, force=True)
