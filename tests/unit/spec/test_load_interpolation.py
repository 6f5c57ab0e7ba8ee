"""Interpolation grammar: $VAR, ${VAR}, defaults, required, alternatives, nesting and $$."""

from __future__ import annotations

import pytest

from stackfile.errors import InvalidSpec
from stackfile.spec.interpolate import substitute

ENV = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$SET", "value"),
        ("${SET}", "value"),
        ("pre-${SET}-post", "pre-value-post"),
        ("${UNSET}", ""),
        ("${UNSET:-dflt}", "dflt"),
        ("${EMPTY:-dflt}", "dflt"),
        ("${EMPTY-dflt}", ""),
        ("${UNSET-dflt}", "dflt"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${UNSET:-${SET}-x}", "value-x"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("echo $(seq 3)", "echo $(seq 3)"),
    ],
)
def test_grammar(template: str, expected: str) -> None:
    assert substitute(template, ENV.get) == expected


@pytest.mark.parametrize("template", ["${UNSET:?need it}", "${EMPTY:?need it}", "${UNSET?need it}"])
def test_required_variables_raise(template: str) -> None:
    with pytest.raises(ValueError, match="need it"):
        substitute(template, ENV.get)


def test_required_unset_in_a_file_names_the_key_and_line(load) -> None:
    with pytest.raises(InvalidSpec) as exc:
        load("services:\n  web:\n    image: ${IMAGE:?set IMAGE}\n")
    err = exc.value
    assert err.location is not None and err.location.line == 3
    assert "services.web.image" in str(err) and "set IMAGE" in str(err)


def test_unterminated_brace_is_an_error(load) -> None:
    with pytest.raises(InvalidSpec, match=r"services\.web\.image"):
        load("services:\n  web:\n    image: ${IMAGE\n")


def test_environment_wins_over_dotenv_and_keys_are_not_interpolated(load) -> None:
    config = load(
        "services:\n  web:\n    image: $IMG\n    labels: {$KEY: '${IMG}'}\n",
        extra={".env": "IMG=from-dotenv\n"},
        env={"IMG": "from-env"},
    ).config
    assert config["services"]["web"]["image"] == "from-env"
    assert config["services"]["web"]["labels"] == {"$KEY": "from-env"}


def test_no_interpolate_keeps_templates(load) -> None:
    config = load("services:\n  web:\n    image: ${IMG:-x}\n", interpolate=False).config
    assert config["services"]["web"]["image"] == "${IMG:-x}"


def test_unset_plain_variables_are_warned_once_and_defaults_are_not(load) -> None:
    project = load(
        "version: '3'\nservices:\n  web:\n    image: x$TAG\n    labels: {a: '${TAG}', b: '${D:-x}'}\n"
    )
    assert project.warnings[0] == "the TAG variable is not set; defaulting to a blank string"
    assert len([w for w in project.warnings if "TAG" in w]) == 1
    assert not any("D variable" in w for w in project.warnings)
    assert any("`version` is obsolete" in w for w in project.warnings)


def test_no_interpolate_keeps_values_as_written_like_compose(load) -> None:
    text = "services:\n  web:\n    image: x\n    init: ${INIT:-true}\n    ports: ['${P:-80}:80']\n"
    web = load(text, interpolate=False).config["services"]["web"]
    assert web["init"] == "${INIT:-true}" and web["ports"] == ["${P:-80}:80"]
    assert web["networks"] == {"default": None}
