"""Score ``stackfile config`` against an external Compose conformance corpus (``--corpus DIR``): >= 90%."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

THRESHOLD = 0.90


def _stackfile() -> str:
    script = Path(sys.executable).with_name("stackfile")
    return str(script) if script.exists() else f"{sys.executable} -m stackfile"


@pytest.mark.ground_truth("corpus")
def test_conformance_corpus_pass_rate(pytestconfig: pytest.Config) -> None:
    corpus = Path(pytestconfig.getoption("corpus"))
    template = (
        f"{_stackfile()} -f {{file}} -p {{project}} --profile {{profile}} --env-file {{env_file}} "
        "config --format json"
    )
    proc = subprocess.run(
        [sys.executable, str(corpus / "run.py"), "-q", template], capture_output=True, text=True, timeout=900
    )
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    m = re.fullmatch(r"(\d+) passed, (\d+) failed", last)
    assert m, f"unexpected runner output: {proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    passed, failed = int(m.group(1)), int(m.group(2))
    assert passed + failed >= 180, f"corpus looks incomplete: {passed + failed} cases"
    rate = passed / (passed + failed)
    assert rate >= THRESHOLD, (
        f"conformance {passed}/{passed + failed} = {rate:.1%} < 90%\n{proc.stdout[-4000:]}"
    )
