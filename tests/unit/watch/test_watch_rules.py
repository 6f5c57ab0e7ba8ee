"""develop.watch from the model → compiled rules: paths, ignore/include, context ignore files, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stackfile.errors import InvalidSpec
from stackfile.spec.model import Service
from stackfile.watch.ignore import default_ignored
from stackfile.watch.rules import Action, rules_for_service


def service(*watch: dict[str, Any]) -> Service:
    return Service.model_validate({"name": "web", "develop": {"watch": list(watch)}})


def test_paths_are_made_absolute_and_actions_typed(tmp_path: Path) -> None:
    rules = rules_for_service(service(
        {"action": "sync", "path": "./src", "target": "/app/src/"},
        {"action": "sync+exec", "path": "conf", "target": "/etc/app", "exec": {"command": "kill -HUP 1"}},
        {"action": "rebuild", "path": "requirements.txt"},
    ), tmp_path)
    assert [(r.action, r.path, r.target) for r in rules] == [
        (Action.SYNC, tmp_path / "src", "/app/src"),
        (Action.SYNC_EXEC, tmp_path / "conf", "/etc/app"),
        (Action.REBUILD, tmp_path / "requirements.txt", None),
    ]
    assert rules[1].exec_command == ("kill", "-HUP", "1")
    assert [r.name for r in rules] == [f"web.develop.watch[{i}]" for i in range(3)]
    assert rules[0].container_path("a/b.py") == "/app/src/a/b.py"


def test_match_honours_defaults_ignore_include_and_the_context_ignore_file(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("**/*.log\nbuild/\n")
    src = str(tmp_path / "src")
    sync, conf = rules_for_service(service(
        {"action": "sync", "path": "src", "target": "/app", "ignore": ["tests/", "*.tmp"]},
        {"action": "restart", "path": "src", "include": ["*.conf"]},
    ), tmp_path, context=tmp_path)
    assert sync.match(f"{src}/app.py") == "app.py"
    for ignored in ("tests/test_a.py", "x.tmp", ".git/HEAD", "__pycache__/m.pyc", "a.py.swp", "4913",
                    "out.log", "m.py~"):
        assert sync.match(f"{src}/{ignored}") is None, ignored
    assert sync.match(str(tmp_path / "elsewhere.py")) is None
    assert conf.match(f"{src}/nginx.conf") == "nginx.conf"
    assert conf.match(f"{src}/app.py") is None


def test_context_ignore_applies_relative_to_the_context(tmp_path: Path) -> None:
    (tmp_path / ".stackignore").write_text("src/generated\n")
    (rule,) = rules_for_service(service({"action": "rebuild", "path": "."}), tmp_path, context=tmp_path)
    assert rule.match(str(tmp_path / "src" / "generated" / "x.py")) is None
    assert rule.match(str(tmp_path / "src" / "main.py")) == "src/main.py"


@pytest.mark.parametrize(("raw", "key"), [
    ({"action": "sync", "path": "src"}, "target"),
    ({"action": "sync", "path": "src", "target": "relative/dir"}, "target"),
    ({"action": "sync+exec", "path": "src", "target": "/app"}, "exec"),
])
def test_invalid_rules_name_the_key_and_what_is_valid(tmp_path: Path, raw: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidSpec) as err:
        rules_for_service(service(raw), tmp_path, file="stack.yaml")
    assert err.value.location is not None
    assert err.value.location.key_path == f"services.web.develop.watch[0].{key}"
    assert err.value.hint


def test_default_ignores_match_any_component() -> None:
    assert default_ignored("a/.git/objects/x") and default_ignored(".#main.py")
    assert default_ignored("x/.DS_Store")
    assert not default_ignored("a/gitignore.txt") and not default_ignored("src/main.py")
