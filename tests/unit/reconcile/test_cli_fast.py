"""The click-free ``up -d`` shortcut parses exactly what the full CLI would (same cache key)."""

from __future__ import annotations

import pytest

from stackfile.cli.main import cli
from stackfile.cli.project_fast import parse
from stackfile.engine.project_fast import cache_key

FLAGS = {"services": (), "no_deps": False, "force_recreate": False, "no_recreate": False,
         "remove_orphans": False, "build": False, "no_build": False, "no_start": False, "scale": {}}
ENV = {"HOME": "/root", "COMPOSE_PROFILES": "p1", "STACKFILE_ROOT": "/var/tmp/x"}


def full_cli_options(argv: list[str], environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> object:
    for key in ("COMPOSE_FILE", "COMPOSE_PROFILES", "STACKFILE_ROOT", "STACKFILE_ENV", "COMPOSE_ENV_FILES"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    ctx = cli.make_context("stackfile", list(argv))
    with ctx:
        ctx.invoke(cli.callback, **ctx.params)  # type: ignore[arg-type]
    return ctx.obj


@pytest.mark.parametrize("argv", [
    ["up", "-d"],
    ["--root", "/r", "-f", "a.yaml", "-f", "b.yaml", "-p", "demo", "up", "--detach", "web", "db"],
    ["--file=a.yaml", "--profile", "x,y", "--env", "dev", "--set", "k=v", "--set=n=2", "up", "-d"],
    ["--project-directory", "/srv", "--env-file", ".env.prod", "up", "web", "-d"],
])
def test_same_options_as_the_full_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    full = full_cli_options(argv[: argv.index("up") + 1], ENV, monkeypatch)
    import os

    parsed = parse(argv, dict(os.environ))  # the environment the full CLI just read, ENV included
    assert parsed is not None
    opts, services = parsed
    assert vars(opts).keys() <= vars(full).keys()
    assert {k: getattr(opts, k) for k in vars(opts)} == {k: getattr(full, k) for k in vars(opts)}
    assert opts.environ == dict(os.environ) and opts.environ["STACKFILE_ROOT"] == "/var/tmp/x"
    assert cache_key(opts, FLAGS) == cache_key(full, FLAGS)
    assert services == tuple(a for a in argv[argv.index("up") + 1:] if not a.startswith("-"))
    assert os.environ.get("COMPOSE_PROFILES") == "p1"


@pytest.mark.parametrize("argv", [
    ["up"], ["up", "-d", "--build"], ["up", "-d", "--scale", "web=2"], ["ps"], ["-fstack.yaml", "up", "-d"],
    ["--set", "novalue", "up", "-d"], ["--root"], ["container", "run", "busybox"], ["up", "--wait", "-d"],
])
def test_anything_else_goes_to_the_full_cli(argv: list[str]) -> None:
    assert parse(argv, dict(ENV)) is None
