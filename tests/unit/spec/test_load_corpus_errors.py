"""Every invalid case of an external conformance corpus (``--corpus DIR``) gives one located,
actionable StackfileError. The project's own cases are in ``test_load_invalid_files.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stackfile.errors import StackfileError
from stackfile.spec.loader import LoadOptions, load_project


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    corpus = metafunc.config.getoption("corpus")
    invalid = Path(corpus) / "invalid" if corpus else None
    cases = sorted(p for p in invalid.glob("*") if (p / "case.json").is_file()) if invalid else []
    # without a corpus, one placeholder that the ground_truth plugin deselects and counts
    metafunc.parametrize("case", cases or [None], ids=lambda p: p.name if p else "no-corpus")


@pytest.mark.ground_truth("corpus")
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
