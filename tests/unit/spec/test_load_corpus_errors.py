"""Every invalid case of the shared corpus gives one located, actionable StackfileError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stackfile.errors import StackfileError
from stackfile.spec.loader import LoadOptions, load_project

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance" / "invalid"
CASES = (
    sorted(p for p in CORPUS.resolve().glob("*") if (p / "case.json").is_file()) if CORPUS.exists() else []
)


@pytest.mark.skipif(not CASES, reason=f"conformance corpus not found at {CORPUS}")
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_invalid_case_is_located_and_has_a_hint(case: Path) -> None:
    meta = json.loads((case / "case.json").read_text())
    opts = LoadOptions(
        files=meta.get("files") or ["compose.yaml"],
        project_name="conformance",
        cwd=str(case),
        profiles=meta.get("profiles", []),
        env_files=meta.get("env_files", []),
        environ={"HOME": "/tmp", **meta.get("env", {})},
    )
    with pytest.raises(StackfileError) as exc:
        load_project(opts)
    err = exc.value
    assert err.location is not None and err.location.file, err.render()
    assert err.location.line is not None, err.render()
    assert err.hint, err.render()
