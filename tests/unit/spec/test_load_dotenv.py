"""Compose's dotenv syntax and precedence (.env < process environment; --env-file replaces .env)."""

from __future__ import annotations

import pytest

from stackfile.errors import InvalidSpec
from stackfile.spec.dotenv import _DotenvError, parse_dotenv


def test_syntax() -> None:
    text = (
        "\ufeff# comment\nA=1\nexport B=two words # trailing comment\nC='single ${A} \\'q\\''\n"
        'D="double ${A}\\nnext"\nE: yaml-style\nF=${A}-${UNSET:-dflt}\nG=a#b\n\n  H = spaced  \n'
    )
    assert parse_dotenv(text) == {
        "A": "1",
        "B": "two words",
        "C": "single ${A} 'q'",
        "D": "double 1\nnext",
        "E": "yaml-style",
        "F": "1-dflt",
        "G": "a#b",
        "H": "spaced",
    }


def test_inherited_key_comes_from_lookup() -> None:
    assert parse_dotenv("FROM_ENV\nMISSING\n", {"FROM_ENV": "x"}.get) == {"FROM_ENV": "x"}


@pytest.mark.parametrize(
    "bad", ["KEY WITH SPACE=1\n", "A='unterminated\n", "B@=1\n"]
)
def test_invalid_lines(bad: str) -> None:
    with pytest.raises(_DotenvError, match="line 1"):
        parse_dotenv(bad)


def test_env_file_is_folded_into_environment(load) -> None:
    svc = load(
        "services:\n  a:\n    image: x\n    env_file: [a.env]\n    environment: {B: explicit}\n",
        extra={"a.env": "A=from-file\nB=from-file\n"},
    ).config["services"]["a"]
    assert svc["environment"] == {"A": "from-file", "B": "explicit"} and "env_file" not in svc


def test_missing_required_env_file_fails_and_optional_is_skipped(load) -> None:
    with pytest.raises(InvalidSpec, match=r"nope\.env"):
        load("services:\n  a: {image: x, env_file: nope.env}\n")
    svc = load("services:\n  a: {image: x, env_file: [{path: nope.env, required: false}]}\n").config
    assert "environment" not in svc["services"]["a"] or svc["services"]["a"]["environment"] == {}


def test_env_file_flag_replaces_dotenv(load) -> None:
    project = load(
        "services:\n  a: {image: '${IMG}'}\n",
        extra={".env": "IMG=dotenv\n", "other.env": "IMG=other\n"},
        env_files=["other.env"],
    )
    assert project.config["services"]["a"]["image"] == "other"


def test_project_name_from_dotenv(load) -> None:
    project = load(
        "services:\n  a: {image: x}\n", extra={".env": "COMPOSE_PROJECT_NAME=fromenv\n"}, project_name=None
    )
    assert project.name == "fromenv"
