"""The cgroup v2 code path on this host's real (controller-less) unified hierarchy: create, attach,
list pids, freeze/thaw, kill, remove. Limits need controllers, so they are covered by unit tests."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from stackfile.runtime.api import Resources
from stackfile.runtime.linux.cgroups import V2Cgroup, for_container
from tests.conftest import needs_root

UNIFIED = Path("/sys/fs/cgroup/unified")
pytestmark = [needs_root, pytest.mark.skipif(not (UNIFIED / "cgroup.procs").exists(),
                                             reason="no cgroup2 hierarchy at /sys/fs/cgroup/unified")]


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_v2_lifecycle_on_the_unified_hierarchy() -> None:
    cg = for_container(f"test-{uuid.uuid4().hex[:12]}", UNIFIED)
    assert isinstance(cg, V2Cgroup)
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    try:
        cg.create(Resources())
        cg.attach(pid)
        assert cg.pids() == [pid]
        assert f"0::/stackfile/{cg.id}" in Path(f"/proc/{pid}/cgroup").read_text()
        cg.freeze()
        assert (Path(cg.dirs()[0]) / "cgroup.events").read_text().split("frozen ")[1][0] == "1"
        cg.thaw()
        assert cg.oom_kills() == 0
        cg.kill_all()
        _, status = os.waitpid(pid, 0)
        assert os.WTERMSIG(status) == signal.SIGKILL
        cg.remove()
        assert not Path(cg.dirs()[0]).exists()
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        for d in (Path(cg.dirs()[0]), UNIFIED / "stackfile"):  # the parent only if nothing else uses it
            try:
                d.rmdir()
            except OSError:
                pass
