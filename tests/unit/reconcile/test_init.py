"""``stackfile init``: templates render into a directory, never overwrite silently, name errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackfile.engine.init import init_project, list_templates
from stackfile.errors import Conflict, InvalidSpec, NotFound


def test_templates_are_listed_with_descriptions() -> None:
    names = {t.name: t for t in list_templates()}
    assert {"python-web", "static-site"} <= set(names)
    assert all(t.description for t in names.values())


def test_static_site_renders_variables(tmp_path: Path) -> None:
    target = tmp_path / "My Site"
    written = init_project(target, "static-site", {"port": "9999", "title": "Docs"})
    assert sorted(p.relative_to(target).as_posix() for p in written) == ["site/index.html", "stack.yaml"]
    stack = (target / "stack.yaml").read_text()
    assert "name: mysite" in stack and '"127.0.0.1:9999:80"' in stack and "{{" not in stack
    assert "<h1>Docs</h1>" in (target / "site/index.html").read_text()


def test_python_web_keeps_plain_files_and_modes(tmp_path: Path) -> None:
    init_project(tmp_path / "app", "python-web")
    assert (tmp_path / "app/app/main.py").read_text().startswith('"""A tiny web app')
    assert "from: debootstrap:bookworm" in (tmp_path / "app/stack.yaml").read_text()


def test_existing_files_are_not_overwritten_without_force(tmp_path: Path) -> None:
    init_project(tmp_path, "static-site")
    (tmp_path / "stack.yaml").write_text("mine")
    with pytest.raises(Conflict, match="already exist"):
        init_project(tmp_path, "static-site")
    assert (tmp_path / "stack.yaml").read_text() == "mine"
    init_project(tmp_path, "static-site", force=True)
    assert (tmp_path / "stack.yaml").read_text() != "mine"


def test_unknown_template_and_bad_names(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such template: nope") as err:
        init_project(tmp_path, "nope")
    assert "static-site" in (err.value.hint or "")
    with pytest.raises(NotFound):
        init_project(tmp_path, "../templates/static-site")


def test_undefined_variable_is_an_error(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[3] / "stackfile/templates/static-site/stack.yaml.j2"
    assert "{{ port }}" in source.read_text()
    from stackfile.engine.init import _render

    with pytest.raises(InvalidSpec, match="undefined"):
        _render("{{ missing }}", source, {})
