"""services.*.extends: same file, other files (with their relative paths), chains and cycles."""

from __future__ import annotations

import pytest

from stackfile.errors import InvalidSpec


def test_same_file_extends_merges_and_drops_the_key(load) -> None:
    config = load("""\
        services:
          base: {image: x, environment: {A: '1'}, command: run}
          web: {extends: base, environment: {B: '2'}}
        """).config
    web = config["services"]["web"]
    assert "extends" not in web
    assert web["image"] == "x" and web["environment"] == {"A": "1", "B": "2"} and web["command"] == ["run"]


def test_other_file_paths_stay_relative_to_that_file(load, project_dir) -> None:
    config = load(
        "services:\n  web:\n    extends: {file: sub/base.yaml, service: b}\n",
        extra={
            "sub/base.yaml": "services:\n  b:\n    build: ./ctx\n    volumes: ['./d:/d']\n",
            "sub/ctx/.keep": "",
        },
    ).config
    web = config["services"]["web"]
    assert web["build"]["context"] == str(project_dir / "sub" / "ctx")
    assert web["volumes"][0]["source"] == str(project_dir / "sub" / "d")


def test_chain_of_extends(load) -> None:
    config = load("""\
        services:
          a: {image: a, labels: {one: '1'}}
          b: {extends: a, labels: {two: '2'}}
          c: {extends: {service: b}, labels: {three: '3'}}
        """).config
    assert config["services"]["c"]["labels"] == {"one": "1", "two": "2", "three": "3"}


def test_cycle_is_reported(load) -> None:
    with pytest.raises(InvalidSpec, match="extends cycle"):
        load("services:\n  a: {image: x, extends: b}\n  b: {image: x, extends: a}\n")


def test_missing_base_names_valid_services(load) -> None:
    with pytest.raises(InvalidSpec) as exc:
        load("services:\n  a: {image: x, extends: nope}\n")
    assert "nope" in exc.value.message and "a" in (exc.value.hint or "")


def test_extends_is_resolved_per_file_before_overrides(load) -> None:
    config = load(
        "services:\n  a: {image: x, extends: b}\n  b: {image: y, environment: {A: '1'}}\n",
        extra={"over.yaml": "services:\n  b: {environment: {B: '2'}}\n"},
        files=["compose.yaml", "over.yaml"],
    ).config
    assert config["services"]["a"]["environment"] == {"A": "1"}
    assert config["services"]["b"]["environment"] == {"A": "1", "B": "2"}


def test_files_extending_each_other_in_a_loop(load) -> None:
    with pytest.raises(InvalidSpec, match="cycle"):
        load(
            "services:\n  a: {image: a, extends: {file: other.yaml, service: x}}\n",
            extra={"other.yaml": "services:\n  x: {image: x, extends: {file: compose.yaml, service: a}}\n"},
        )
