"""The watch command's refusals: located, with a hint and the invalid-spec exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def stackfile(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackfile", "--root", str(cwd / "store"), *args], cwd=cwd,
                          capture_output=True, text=True, check=False, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})


def test_no_develop_watch_is_refused_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("services:\n  web:\n    image: busybox\n")
    result = stackfile(tmp_path, "watch", "--no-up")
    assert result.returncode == 15, result.stderr
    assert "none of the selected services (web) has develop.watch rules" in result.stderr
    assert "hint: add e.g. develop:" in result.stderr


def test_a_sync_rule_without_target_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(
        "services:\n  web:\n    image: busybox\n    develop:\n      watch:\n        - action: sync\n"
        "          path: ./src\n")
    result = stackfile(tmp_path, "watch", "--no-up")
    assert result.returncode == 15, result.stderr
    assert "services.web.develop.watch[0].target" in result.stderr and "absolute 'target'" in result.stderr


def test_unknown_service_is_not_found(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("services:\n  web:\n    image: busybox\n")
    result = stackfile(tmp_path, "watch", "--no-up", "nope")
    assert result.returncode == 14 and "no such service: nope" in result.stderr
