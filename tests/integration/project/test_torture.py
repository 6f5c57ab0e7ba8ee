"""The torture suite, bounded for CI (issue 12.6): random kill -9s during up/build/down, each
followed by ``up --build --wait`` (every service up with the latest build) and a clean ``system
check``; then ``down -v`` leaves nothing of the store root. ``bench/torture.py`` runs as many
rounds as wanted (``--rounds``, ``--seed``)."""

from __future__ import annotations

import os
import random
from pathlib import Path

from tests.conftest import needs_root
from tests.support.torture import Torture

pytestmark = needs_root

ROUNDS = int(os.environ.get("STACKFILE_TORTURE_ROUNDS", "3"))


def test_kill_9_rounds_converge(store_root: Path, tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    t = Torture(store_root, tmp_path / "proj", "torture", random.Random(seed))
    left: list[str] = []
    try:
        t.converge()
        for _ in range(ROUNDS):
            t.round()
    finally:
        left = t.finish()
    assert not left, (seed, t.log, left)
