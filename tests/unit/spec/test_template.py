"""Jinja2 stack templates: context shape, strict undefined, located errors, sandbox, includes."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackfile.errors import InvalidSpec
from stackfile.spec.template import nest_dotted, render_template, template_context

TEMPLATE = """\
services:
{% for i in range(replicas | int) %}
  web{{ i }}:
    image: {{ db.image }}
    environment: {HOME: "{{ env.HOME }}", ENV: "{{ environment }}"}
{% endfor %}
"""


def test_renders_with_env_environment_and_set_values() -> None:
    ctx = template_context({"HOME": "/root"}, "dev", {"replicas": "2", "db.image": "busybox"})
    out = render_template(TEMPLATE, path="/p/stack.yaml.j2", context=ctx)
    assert out.count("image: busybox") == 2
    assert 'environment: {HOME: "/root", ENV: "dev"}' in out
    assert "web1:" in out and "web2:" not in out
    assert out.endswith("\n")


def test_dotted_keys_in_context_are_nested() -> None:
    out = render_template("{{ a.b }}-{{ c }}", path="/p/x.j2", context={"a.b": "1", "c": "2"})
    assert out == "1-2"


def test_undefined_variable_names_file_and_line() -> None:
    ctx = template_context({}, None)
    with pytest.raises(InvalidSpec) as info:
        render_template("a: 1\nb: {{ missing }}\n", path="/p/stack.yaml.j2", context=ctx)
    err = info.value
    assert err.location is not None and (err.location.file, err.location.line) == ("/p/stack.yaml.j2", 2)
    assert "missing" in err.message and err.hint is not None and "env, environment" in err.hint


def test_syntax_error_names_line() -> None:
    with pytest.raises(InvalidSpec) as info:
        render_template("a\nb\n{% if %}\n", path="/p/s.j2", context={})
    assert info.value.location is not None and info.value.location.line == 3
    with pytest.raises(InvalidSpec):
        render_template("{% for x in y %}", path="/p/s.j2", context={"y": []})


def test_sandbox_blocks_python_internals() -> None:
    with pytest.raises(InvalidSpec) as info:
        render_template("{{ ''.__class__.__mro__ }}", path="/p/s.j2", context={})
    assert "unsafe" in info.value.message


def test_include_relative_to_template(tmp_path: Path) -> None:
    (tmp_path / "common.j2").write_text("image: {{ img }}")
    out = render_template("x:\n  {% include 'common.j2' %}\n", path=str(tmp_path / "s.yaml.j2"),
                          context={"img": "busybox"})
    assert out == "x:\n  image: busybox\n"


def test_nest_dotted_clash() -> None:
    assert nest_dotted({"a.b.c": 1, "a.d": 2}) == {"a": {"b": {"c": 1}, "d": 2}}
    with pytest.raises(InvalidSpec):
        nest_dotted({"a": "1", "a.b": "2"})


def test_runaway_templates_are_invalid_spec(tmp_path: Path) -> None:
    (tmp_path / "loop.j2").write_text("{% include 'loop.j2' %}")
    with pytest.raises(InvalidSpec):
        render_template("{% include 'loop.j2' %}", path=str(tmp_path / "s.j2"), context={})
    with pytest.raises(InvalidSpec):
        render_template("{% for i in range(10**9) %}{% endfor %}", path="/p/s.j2", context={})
    with pytest.raises(InvalidSpec):
        render_template("{% include 'missing.j2' %}", path=str(tmp_path / "s.j2"), context={})
