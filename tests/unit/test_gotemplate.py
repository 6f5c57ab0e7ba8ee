"""``--format`` Go templates as docker/cli renders them: fields, functions, pipelines, tables."""

from __future__ import annotations

import pytest

from stackfile.cli.gotemplate import is_template, render
from stackfile.errors import InvalidSpec

ROWS = [{"Name": "shop-web-1", "Service": "web", "State": "running", "Publishers": [{"PublishedPort": 8080}],
         "Labels": "tier=front,team=a", "ExitCode": 0},
        {"Name": "shop-db-1", "Service": "db", "State": "exited", "Publishers": [], "Labels": "",
         "ExitCode": 3}]
FIELDS = sorted(ROWS[0])


@pytest.mark.parametrize(("fmt", "lines"), [
    ("{{.Name}}", ["shop-web-1", "shop-db-1"]),
    ("{{ .Service }}={{.State}} ({{.ExitCode}})", ["web=running (0)", "db=exited (3)"]),
    # docker replaces a typed \t; a table gets a header and tabwriter columns (min 10, padding 3)
    ("table {{.Name}}\\t{{.Service}}\\t{{.State}}",
     ["NAME         SERVICE   STATE", "shop-web-1   web       running", "shop-db-1    db        exited"]),
    ("{{json .Publishers}}", ['[{"PublishedPort": 8080}]', "[]"]),
    ("{{.Publishers}}", ["[map[PublishedPort:8080]]", "[]"]),  # Go's fmt
    ("{{.Name | upper}} {{lower .State}} {{.Label \"tier\"}}",
     ["SHOP-WEB-1 running front", "SHOP-DB-1 exited "]),
    ("{{truncate .Name 4}}|{{.Labels | split \",\" | join \"+\"}}",
     ["shop|tier=front+team=a", "shop|"]),
])
def test_templates_render_as_docker_does(fmt: str, lines: list[str]) -> None:
    assert is_template(fmt)
    assert render(fmt, ROWS, FIELDS) == lines


def test_json_of_the_row_is_the_json_format() -> None:
    assert render("{{json .}}", ROWS[:1], FIELDS) == [
        '{"ExitCode": 0, "Labels": "tier=front,team=a", "Name": "shop-web-1", '
        '"Publishers": [{"PublishedPort": 8080}], "Service": "web", "State": "running"}']


@pytest.mark.parametrize(("fmt", "words"), [
    ("{{.Nope}}", "can't evaluate field Nope"),
    ("{{nope .Name}}", 'function "nope" not defined'),
    ("{{.Name", "unclosed action"),
    ("{{join .Name}}", "wrong number of args for join"),
    ("{{upper (.Name)}}", "parenthesized"),
])
def test_a_bad_template_says_what_is_valid(fmt: str, words: str) -> None:
    with pytest.raises(InvalidSpec) as err:
        render(fmt, ROWS, FIELDS)
    assert words in err.value.message
    assert err.value.hint is not None and ".Name" in err.value.hint and "upper" in err.value.hint


def test_format_names_are_not_templates() -> None:
    assert not is_template("json") and not is_template("table")
