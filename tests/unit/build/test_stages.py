"""Multi-stage builds, COPY --from, targets, metadata steps and the resulting image config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stackfile.build.builder import Builder, build_many
from stackfile.errors import InvalidSpec, NotFound, Unavailable
from stackfile.spec import recipe as ir
from stackfile.store.paths import StorePaths
from tests.unit.build.fakes import FakeExecutor


@pytest.fixture()
def paths(store_root: Path) -> StorePaths:
    return StorePaths.at(store_root).ensure()


def _files(paths: StorePaths, image, rel: str) -> list[str]:  # type: ignore[no-untyped-def]
    for lid in reversed(image.layers):
        path = paths.layer(lid) / rel.lstrip("/")
        if path.exists():
            return sorted(os.listdir(path)) if path.is_dir() else [path.read_text()]
    return []


def test_copy_from_stage_and_unused_stage_is_not_built(paths: StorePaths, tmp_path: Path) -> None:
    fake = FakeExecutor(paths)
    recipe = ir.Recipe(stages=(
        ir.Stage(ir.From("busybox"), (ir.Run(("echo unused",)),), name="other"),
        ir.Stage(ir.From("busybox"), (ir.Workdir("/out"), ir.Run(("echo artifact",))), name="builder"),
        ir.Stage(ir.From("scratch"), (ir.Copy(("/out",), "/dist", from_="builder"),)),
    ), context=str(tmp_path))
    image = Builder(paths, executor=fake).build(recipe, ("final",))
    assert fake.commands == ["echo artifact"]
    assert len(image.layers) == 1  # scratch + one COPY layer
    assert _files(paths, image, "/dist") == ["1-echo_artifact"]  # the fake writes /out/<n>-<command>
    target = Builder(paths, executor=fake).build(ir.Recipe(stages=recipe.stages, target="other"), ("o",))
    assert fake.commands[-1] == "echo unused"
    assert target.layers[0] != image.layers[0]


def test_unknown_target_lists_the_stages(paths: StorePaths, tmp_path: Path) -> None:
    recipe = ir.Recipe(stages=(ir.Stage(ir.From("scratch"), name="a"),), target="nope")
    with pytest.raises(InvalidSpec, match="'nope'") as err:
        Builder(paths, executor=FakeExecutor(paths)).build(recipe)
    assert "a" in (err.value.hint or "")


def test_copy_from_an_image_in_the_store(paths: StorePaths, tmp_path: Path) -> None:
    recipe = ir.Recipe(stages=(ir.Stage(ir.From("scratch"), (
        ir.Copy(("/etc/passwd",), "/etc/", from_="busybox"),)),))
    image = Builder(paths, executor=FakeExecutor(paths)).build(recipe, ("x",))
    assert _files(paths, image, "/etc/passwd")[0].startswith("root:x:0:0:")


def test_metadata_steps_shape_the_config_without_layers(paths: StorePaths) -> None:
    fake = FakeExecutor(paths)
    steps = (
        ir.Env((("A", "1"), ("B", "two words"))), ir.Workdir("/srv"), ir.Workdir("app"), ir.User("nobody"),
        ir.Expose(("80", "53/udp")), ir.Label((("k", "v"),)), ir.StopSignal("SIGINT"), ir.Volume(("/data",)),
        ir.Healthcheck(test=("CMD-SHELL", "true"), interval=5.0, retries=2),
        ir.Shell(("/bin/sh", "-ec")), ir.Run(("echo shell",)), ir.Entrypoint(("/bin/app",)),
        ir.Cmd(("--serve",)),
    )
    image = Builder(paths, executor=fake).build(ir.Recipe(stages=(ir.Stage(ir.From("busybox"), steps),)))
    cfg = image.config
    assert cfg["Env"][-2:] == ["A=1", "B=two words"]
    assert cfg["WorkingDir"] == "/srv/app"
    assert cfg["User"] == "nobody"
    assert cfg["ExposedPorts"] == {"53/udp": {}, "80/tcp": {}}
    assert cfg["Labels"] == {"k": "v"}
    assert cfg["StopSignal"] == "SIGINT"
    assert cfg["Volumes"] == {"/data": {}}
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000, "Retries": 2}
    assert cfg["Entrypoint"] == ["/bin/app"] and cfg["Cmd"] == ["--serve"]
    job = fake.jobs[0]
    assert job.argv == ("/bin/sh", "-ec", "echo shell")
    assert (job.cwd, job.user, job.env["B"]) == ("/srv/app", "nobody", "two words")
    # WORKDIR made the missing directory in a layer; metadata steps added none
    assert len(image.layers) == 4  # busybox + WORKDIR /srv + WORKDIR /srv/app + the RUN's output
    assert os.path.isdir(paths.layer(image.layers[2]) / "srv" / "app")


def test_entrypoint_resets_an_inherited_cmd(paths: StorePaths) -> None:
    image = Builder(paths, executor=FakeExecutor(paths)).build(ir.Recipe(stages=(
        ir.Stage(ir.From("busybox"), (ir.Entrypoint(("/bin/echo",)),)),)))
    assert image.config["Entrypoint"] == ["/bin/echo"]
    assert "Cmd" not in image.config


def test_failed_run_names_step_file_line_and_output(paths: StorePaths) -> None:
    step = ir.Run(("make all",), source=ir.Source("/proj/Dockerfile", 7))
    recipe = ir.Recipe(stages=(ir.Stage(ir.From("busybox"), (ir.Run(("echo ok",)), step)),))
    with pytest.raises(InvalidSpec) as err:
        Builder(paths, executor=FakeExecutor(paths, fail_on="make")).build(recipe)
    text = err.value.render()
    assert text.startswith("/proj/Dockerfile:7: build step 'RUN make all' failed with exit code 3")
    assert "boom: no such thing" in text


def test_missing_base_image_is_unavailable_with_hint(paths: StorePaths) -> None:
    recipe = ir.Recipe(stages=(ir.Stage(ir.From("nginx:1.25", source=ir.Source("Dockerfile", 1))),))
    with pytest.raises(Unavailable, match="registry pulls are not supported") as err:
        Builder(paths, executor=FakeExecutor(paths)).build(recipe)
    assert err.value.location is not None and err.value.location.line == 1
    assert err.value.hint is not None and "stackfile image load -i FILE" in err.value.hint
    assert "busybox" in err.value.hint and "oci-archive:<path>" in err.value.hint  # what is valid


def test_build_many_orders_dependent_recipes_and_tags_each(paths: StorePaths) -> None:
    fake = FakeExecutor(paths)
    recipes = {
        "base": ir.Recipe(stages=(ir.Stage(ir.From("busybox"), (ir.Run(("echo base",)),)),)),
        "app": ir.Recipe(stages=(ir.Stage(ir.From("base"), (ir.Run(("echo app",)),)),)),
        "tool": ir.Recipe(stages=(ir.Stage(ir.From("busybox"), (ir.Run(("echo tool",)),)),)),
    }
    built = build_many(paths, recipes, executor=fake)
    assert sorted(built) == ["app", "base", "tool"]
    assert built["app"].layers[:2] == built["base"].layers
    assert built["app"].names == ("app:latest",)
    assert fake.commands.index("echo base") < fake.commands.index("echo app")


def test_copy_source_missing_is_not_found(paths: StorePaths, tmp_path: Path) -> None:
    recipe = ir.Recipe(stages=(ir.Stage(ir.From("scratch"), (
        ir.Copy(("nothere.txt",), "/x", source=ir.Source("Dockerfile", 3)),)),), context=str(tmp_path))
    with pytest.raises(NotFound, match=r"nothere\.txt") as err:
        Builder(paths, executor=FakeExecutor(paths)).build(recipe)
    assert err.value.location is not None and err.value.location.line == 3


def test_base_sources_resolve_with_or_without_latest(paths: StorePaths) -> None:
    from stackfile.build.bases import resolve_image

    first = resolve_image(paths, "busybox:latest")
    assert first.names == ("busybox:latest",)
    assert resolve_image(paths, "busybox").id == first.id
    assert resolve_image(paths, "scratch").layers == ()
    with pytest.raises(Unavailable, match="registry pulls are not supported") as err:
        resolve_image(paths, "docker://busybox:1.36")
    assert err.value.hint is not None and "docker-archive:<path>" in err.value.hint
