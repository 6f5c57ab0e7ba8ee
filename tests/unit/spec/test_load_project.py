"""Project-level behaviour: names, discovery, stdin, templates, graph helpers, typed model."""

from __future__ import annotations

import pytest

from stackfile.errors import InvalidSpec, NotFound
from stackfile.spec.loader import LoadOptions, load_project

STACK = """\
images:
  base: {from: busybox, steps: [{run: 'true'}]}
  app: {from: base, steps: [{run: 'true'}]}
services:
  web: {image: app, depends_on: [api], networks: [front]}
  api: {image: base, depends_on: [db]}
  db: {image: postgres, volumes: ['data:/d']}
networks: {front: {}}
volumes: {data: {}}
"""


def test_name_precedence(load, project_dir) -> None:
    text = "name: fromfile\nservices:\n  a: {image: x}\n"
    assert load(text).name == "test"  # -p
    assert load(text, project_name=None, env={"COMPOSE_PROJECT_NAME": "fromenv"}).name == "fromenv"
    assert load(text, project_name=None).name == "fromfile"
    assert load("services:\n  a: {image: x}\n", project_name=None).name == "proj"  # directory


def test_directory_name_is_normalised(tmp_path) -> None:
    d = tmp_path / "My.Project Dir"
    d.mkdir()
    (d / "compose.yaml").write_text("services:\n  a: {image: x}\n")
    assert load_project(LoadOptions(cwd=str(d), environ={})).name == "myprojectdir"


def test_invalid_explicit_name(load) -> None:
    with pytest.raises(InvalidSpec, match="invalid project name"):
        load("services:\n  a: {image: x}\n", project_name="Bad Name")


def test_discovery_walks_up_and_picks_the_override(project_dir) -> None:
    (project_dir / "compose.yaml").write_text("services:\n  a: {image: x}\n")
    (project_dir / "compose.override.yaml").write_text("services:\n  a: {image: y}\n")
    sub = project_dir / "deep" / "er"
    sub.mkdir(parents=True)
    project = load_project(LoadOptions(cwd=str(sub), environ={}, project_name="t"))
    assert project.config["services"]["a"]["image"] == "y"
    assert project.working_dir == str(project_dir)


def test_no_file_found(tmp_path) -> None:
    with pytest.raises(NotFound):
        load_project(LoadOptions(cwd=str(tmp_path), environ={}))


def test_stdin(tmp_path) -> None:
    project = load_project(
        LoadOptions(
            files=["-"], stdin="services:\n  a: {image: x}\n", cwd=str(tmp_path), environ={}, project_name="s"
        )
    )
    assert project.working_dir == str(tmp_path) and project.config["services"]["a"]["image"] == "x"


def test_jinja_template_file(load) -> None:
    text = "services:\n{% for i in range(n | int) %}  w{{ i }}: {image: '{{ img }}'}\n{% endfor %}"
    project = load(
        text, main="stack.yaml.j2", files=["stack.yaml.j2"], template_vars={"n": "2", "img": "nginx"}
    )
    assert sorted(project.config["services"]) == ["w0", "w1"]


def test_graph_and_order(load) -> None:
    project = load(STACK)
    assert project.services_in_order() == ["db", "api", "web"]
    graph = project.dependency_graph()
    assert graph.dependencies("service:web") == ["image:app", "network:front", "service:api"]
    assert graph.dependencies("image:app") == ["image:base"]
    assert graph.dependencies("service:db") == ["network:default", "volume:data"]
    assert graph.levels()[0] == ["image:base", "network:default", "network:front", "volume:data"]


def test_typed_model_is_built_at_load_and_only_once(load) -> None:
    project = load(STACK)
    built = vars(project).get("model")  # the loader types it, so a bad value fails the load itself
    assert built is not None and project.model is built  # cached, not rebuilt on each access
    assert sorted(built.services) == ["api", "db", "web"]
    assert built.services["web"].image == "app"


def test_typed_model_is_built_lazily_for_a_raw_load(load) -> None:
    project = load(STACK, interpolate=False)
    assert "model" not in vars(project)  # `config --no-interpolate` never pays for it
    assert sorted(project.config["services"]) == ["api", "db", "web"]
    assert list(project.config["volumes"]) == ["data"]  # the short syntax 'data:/d' still counts as a use
