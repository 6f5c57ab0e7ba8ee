"""kill -9 in the middle of a build: no half layer becomes visible, the rebuild reuses finished steps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stackfile.build.builder import Builder
from stackfile.build.events import StepCached, StepStarted
from stackfile.spec import recipe as ir
from stackfile.store.gc import collect
from stackfile.store.layers import LayerStore
from stackfile.store.paths import StorePaths
from tests.unit.build.fakes import FakeExecutor

REPO = Path(__file__).resolve().parents[3]

CHILD = """
import sys, time
from pathlib import Path
from stackfile.store.paths import StorePaths
from stackfile.build.builder import Builder
from tests.unit.build.fakes import FakeExecutor
from tests.unit.build.test_crash import RECIPE

paths = StorePaths.at(sys.argv[1])

class Slow(FakeExecutor):
    def run(self, job, output):
        if "slow" in job.argv[-1]:
            half = paths.tmp / "run-half"
            half.mkdir(parents=True)
            (half / "partial").write_text("half written")
            Path(sys.argv[2]).write_text("ready")
            time.sleep(120)
        return super().run(job, output)

Builder(paths, executor=Slow(paths)).build(RECIPE, ("crash",))
"""

RECIPE = ir.Recipe(stages=(ir.Stage(ir.From("busybox"), (
    ir.Run(("echo one",)), ir.Run(("echo two",)), ir.Run(("echo slow",)), ir.Run(("echo four",)))),))


def test_kill_9_mid_build_then_rebuild_reuses_completed_layers(store_root: Path, tmp_path: Path) -> None:
    paths = StorePaths.at(store_root).ensure()
    marker = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(store_root), str(marker)], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "the child build never reached the slow step"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    layers = LayerStore(paths)
    assert sorted(os.listdir(paths.layers)) == sorted(layers.list())  # every visible layer is recorded
    assert len(layers.list()) == 3  # busybox, one, two
    events: list = []
    fake = FakeExecutor(paths)
    image = Builder(paths, executor=fake, sink=events.append).build(RECIPE, ("crash",))
    assert sum(isinstance(e, StepCached) for e in events) == 2
    assert sum(isinstance(e, StepStarted) for e in events) == 2
    assert fake.commands == ["echo slow", "echo four"]
    assert len(image.layers) == 5
    collect(paths)
    assert not (paths.tmp / "run-half").exists()
