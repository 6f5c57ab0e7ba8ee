"""images: recipes and services' build: → Recipe IR (golden), errors with key paths, dependencies."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from stackfile.errors import InvalidSpec, NotFound
from stackfile.spec.recipe import (
    Arg,
    CacheMount,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Recipe,
    Run,
    Shell,
    Source,
    Stage,
    StopSignal,
    User,
    Volume,
    Workdir,
)
from stackfile.spec.recipes import (
    image_dependencies,
    recipe_from_build,
    recipe_from_image_def,
    recipes_from_stack,
)

APP = {
    "from": "debootstrap:bookworm",
    "args": {"PIP_INDEX": "https://x"},
    "env": {"DEBIAN_FRONTEND": "noninteractive", "N": 1},
    "workdir": "/app",
    "steps": [
        {"run": "apt-get install -y python3-pip",
         "cache": ["/var/cache/apt", {"target": "/root/.cache", "id": "pip", "sharing": "locked"}]},
        {"copy": "requirements.txt", "to": "/app/", "chown": "1000:1000", "chmod": "0644"},
        {"run": ["pip", "install", "-r", "requirements.txt"], "network": "host"},
        {"add": ["a.tar", "b"], "to": "/opt/"},
        {"copy": "/usr/bin/x", "to": "/bin/", "from": "tools"},
        {"env": {"A": "1"}}, {"workdir": "/srv"}, {"user": "root"}, {"arg": "V", "default": 2},
        {"shell": ["/bin/bash", "-c"]}, {"label": {"k": "v"}}, {"expose": [80, "53/udp"]},
        {"volume": "/data"}, {"healthcheck": {"test": ["CMD", "true"], "interval": "10s", "retries": 2}},
    ],
    "user": "nobody",
    "expose": [8000],
    "volumes": ["/var/lib/app"],
    "labels": {"org": "x"},
    "healthcheck": {"test": "curl -f http://localhost", "interval": "1m30s", "timeout": 5},
    "stopsignal": "SIGINT",
    "entrypoint": ["/init"],
    "cmd": ["python3", "app.py"],
    "ignore": ["*.pyc"],
}


def test_golden_recipe(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text(".git\n")
    recipe = recipe_from_image_def("app", APP, project_dir=str(tmp_path))
    s = Source()
    assert recipe == Recipe(
        stages=(Stage(
            base=From("debootstrap:bookworm"),
            name="app",
            steps=(
                Arg("PIP_INDEX", "https://x"),
                Env((("DEBIAN_FRONTEND", "noninteractive"), ("N", "1"))),
                Workdir("/app"),
                Run(("apt-get install -y python3-pip",), True,
                    (CacheMount("/var/cache/apt"), CacheMount("/root/.cache", "pip", "locked"))),
                Copy(("requirements.txt",), "/app/", chown="1000:1000", chmod="0644"),
                Run(("pip", "install", "-r", "requirements.txt"), False, (), "host"),
                Copy(("a.tar", "b"), "/opt/", add=True),
                Copy(("/usr/bin/x",), "/bin/", from_="tools"),
                Env((("A", "1"),)), Workdir("/srv"), User("root"), Arg("V", "2"),
                Shell(("/bin/bash", "-c")), Label((("k", "v"),)), Expose(("80", "53/udp")),
                Volume(("/data",)), Healthcheck(("CMD", "true"), 10.0, retries=2),
                User("nobody"), Expose(("8000",)), Volume(("/var/lib/app",)), Label((("org", "x"),)),
                Healthcheck(("CMD-SHELL", "curl -f http://localhost"), 90.0, 5.0),
                StopSignal("SIGINT"), Entrypoint(("/init",)), Cmd(("python3", "app.py")),
            ),
        ),),
        context=str(tmp_path),
        ignore_patterns=(".git", "*.pyc"),
        args=(("PIP_INDEX", "https://x"),),
        source=s,
    )


def test_canonical_json_is_deterministic(tmp_path: Path) -> None:
    a = json.dumps(asdict(recipe_from_image_def("app", APP, project_dir=str(tmp_path))), sort_keys=True)
    b = json.dumps(asdict(recipe_from_image_def("app", dict(APP), project_dir=str(tmp_path))), sort_keys=True)
    assert a == b


def test_marks_give_step_lines() -> None:
    marks = {("images", "web"): (3, 3), ("images", "web", "from"): (4, 5),
             ("images", "web", "steps", 0): (6, 7), ("images", "web", "steps", 1): (7, 7)}
    definition = {"from": "busybox", "steps": [{"run": "true"}, {"run": 5}]}
    with pytest.raises(InvalidSpec) as info:
        recipe_from_image_def("web", definition, project_dir="/p", marks=marks, file="/p/stack.yaml")
    loc = info.value.location
    assert loc is not None and loc.key_path == "images.web.steps[1].run"
    definition = {"from": "busybox", "steps": [{"run": "true"}]}
    recipe = recipe_from_image_def("web", definition, project_dir="/p", marks=marks, file="/p/stack.yaml")
    assert recipe.stages[0].base.source == Source("/p/stack.yaml", 4)
    assert recipe.stages[0].steps[0].source == Source("/p/stack.yaml", 6)


def test_relative_archive_bases_and_context_are_absolute() -> None:
    recipe = recipe_from_image_def("a", {"from": "oci-archive:./img.tar", "context": "sub"}, project_dir="/p")
    assert recipe.stages[0].base.ref == "oci-archive:/p/img.tar"
    assert recipe.context == "/p/sub"


@pytest.mark.parametrize(("definition", "key_path", "needle"), [
    ({"steps": []}, "images.app", "needs 'from'"),
    ({"from": "x", "steps": {"run": "a"}}, "images.app.steps", "must be a list"),
    ({"from": "x", "steps": ["echo"]}, "images.app.steps[0]", "step kinds: add, arg, cmd"),
    ({"from": "x", "steps": [{"rn": "echo"}]}, "images.app.steps[0]", "did you mean 'run'"),
    ({"from": "x", "steps": [{"run": "a", "copy": "b"}]}, "images.app.steps[0]", "exactly one"),
    ({"from": "x", "steps": [{"copy": "a"}]}, "images.app.steps[0]", "needs 'to'"),
    ({"from": "x", "steps": [{"copy": "a", "to": "/", "owner": 1}]}, "images.app.steps[0].owner",
     "copy options"),
    ({"from": "x", "steps": [{"copy": "a", "to": "/", "chmod": "rwx"}]}, "images.app.steps[0].chmod",
     "octal"),
    ({"from": "x", "steps": [{"run": "a", "network": "bridge"}]}, "images.app.steps[0].network", "host"),
    ({"from": "x", "steps": [{"run": "a", "cache": [{"id": "x"}]}]}, "images.app.steps[0].cache[0]",
     "target"),
    ({"from": "x", "steps": [{"env": "A=1"}]}, "images.app.steps[0].env", "mapping"),
    ({"from": "x", "expose": ["http"]}, "images.app.expose", "invalid port"),
    ({"from": "x", "steps": [{"run": []}]}, "images.app.steps[0].run", "non-empty"),
    ({"from": "x", "healthcheck": {"interval": "soon"}}, "images.app.healthcheck.interval", "duration"),
    ({"from": "x", "stepz": []}, "images.app.stepz", "did you mean 'steps'"),
    ({"from": "x", "dockerfile": "Dockerfile"}, "images.app.dockerfile", "not both"),
    ({"from": "x", "ignore": ["!"]}, None, "exclusion"),
    ("busybox", "images.app", "mapping"),
])
def test_bad_recipes_name_key_path(definition: Any, key_path: str | None, needle: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        recipe_from_image_def("app", definition, project_dir="/nonexistent")
    if key_path is not None:
        assert info.value.location is not None and info.value.location.key_path == key_path
    assert needle in str(info.value)


def test_dockerfile_image_with_settings(tmp_path: Path) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "app.Dockerfile").write_text("ARG V=1\nFROM busybox AS base\nFROM base AS final\n"
                                                     "RUN echo $V\nFROM base AS other\n")
    (tmp_path / "ctx" / "app.Dockerfile.dockerignore").write_text("secret\n")
    definition = {"dockerfile": "app.Dockerfile", "context": "ctx", "target": "final", "args": {"V": "2"},
                  "cmd": ["sh"], "env": {"E": "1"}}
    recipe = recipe_from_image_def("app", definition, project_dir=str(tmp_path))
    assert recipe.target == "final"
    assert recipe.context == str(tmp_path / "ctx")
    assert recipe.args == (("V", "2"),)
    assert recipe.ignore_patterns == ("secret",)
    final = recipe.target_stage()
    assert [type(s).__name__ for s in final.steps] == ["Run", "Env", "Cmd"]
    assert recipe.stages[2].steps == ()


def test_missing_dockerfile_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        recipe_from_image_def("app", {"dockerfile": "nope"}, project_dir=str(tmp_path))


def test_recipe_from_build(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nARG A\nLABEL a=$A\n")
    (tmp_path / ".dockerignore").write_text("node_modules\n")
    build = {"context": str(tmp_path), "dockerfile": "Dockerfile", "args": {"A": "x", "B": None},
             "labels": {"z": "1", "a": "2"}}
    recipe = recipe_from_build(build, service="web", project_dir="/elsewhere")
    assert recipe.stages[0].steps[1] == Label((("a", "x"),), Source(str(tmp_path / "Dockerfile"), 3))
    assert recipe.args == (("A", "x"),)
    assert recipe.labels == (("a", "2"), ("z", "1"))
    assert recipe.ignore_patterns == ("node_modules",)
    inline = recipe_from_build({"context": str(tmp_path), "dockerfile_inline": "FROM scratch\nCMD [\"x\"]\n"},
                               service="web", project_dir="/")
    assert inline.stages[0].base.ref == "scratch"
    assert inline.stages[0].steps[0].source.file == "services.web.build.dockerfile_inline"


def test_recipes_from_stack_and_dependencies() -> None:
    images = {"b": {"from": "a", "steps": [{"copy": "/x", "to": "/y", "from": "tools"}]},
              "a": {"from": "busybox"}, "tools": {"from": "busybox"}, "loop": {"from": "loop"}}
    recipes = recipes_from_stack(images, "/p")
    assert list(recipes) == ["a", "b", "loop", "tools"]
    assert image_dependencies(images) == {"a": set(), "b": {"a", "tools"}, "loop": {"loop"}, "tools": set()}
    assert recipes_from_stack(None, "/p") == {}


def test_builder_hot_path_modules_import_no_heavy_libraries() -> None:
    import subprocess
    import sys

    code = ("import sys, stackfile.spec.recipes, stackfile.spec.dockerfile, stackfile.spec.ignore; "
            "print(sorted(m for m in ('pydantic', 'jinja2', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
