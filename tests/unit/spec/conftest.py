"""Fixtures for loader tests: write inline stack files into a temp project and load them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stackfile.spec.loader import LoadOptions, load_project
from stackfile.spec.project import Project

Loader = Callable[..., Project]


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    d = tmp_path / "proj"
    d.mkdir()
    return d


@pytest.fixture
def load(project_dir: Path) -> Loader:
    """``load(yaml_text, extra={name: text}, env={...}, **LoadOptions)`` → Project (name ``test``)."""

    def _load(
        text: str | None = None,
        *,
        extra: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        main: str = "compose.yaml",
        **opts: Any,
    ) -> Project:
        for name, body in (extra or {}).items():
            path = project_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(body))
        if text is not None:
            (project_dir / main).write_text(textwrap.dedent(text))
        opts.setdefault("project_name", "test")
        opts.setdefault("files", [main])
        return load_project(
            LoadOptions(environ={"HOME": "/home/u", **(env or {})}, cwd=str(project_dir), **opts)
        )

    return _load


@pytest.fixture
def service(load: Loader) -> Callable[..., dict[str, Any]]:
    """``service(yaml_text)`` → the canonical dict of the only (or first) service."""

    def _service(text: str, **kwargs: Any) -> dict[str, Any]:
        services = load(text, **kwargs).config["services"]
        return services[sorted(services)[0]]

    return _service
