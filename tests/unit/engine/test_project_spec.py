"""engine/project_spec.py directly: a service of a loaded stack plus a Docker image config become the
runtime's process, resources, restart policy and secret/config mounts, with Docker's merge rules."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from stackfile.engine.project_spec import (
    command_argv,
    environment,
    file_mounts,
    process,
    resources,
    restart_policy,
)
from stackfile.errors import InvalidSpec
from stackfile.runtime.api import Mount, Resources, RestartPolicy
from stackfile.spec.loader import LoadOptions, load_project

IMAGE = {"Entrypoint": ["/entry.sh"], "Cmd": ["serve", "--port", "80"], "Env": ["PATH=/bin", "MODE=image"],
         "WorkingDir": "/srv", "User": "app"}

STACK = """\
services:
  plain: {image: x}
  cmd: {image: x, command: [run, fast]}
  entry: {image: x, entrypoint: [/bin/sh, -c]}
  both: {image: x, entrypoint: [/bin/sh, -c], command: [echo hi]}
  env:
    image: x
    environment: {MODE: service, EXTRA: "1", UNSET: null}
    working_dir: /app
    user: "1000:1000"
    group_add: [wheel]
    tty: true
  limited:
    image: x
    mem_limit: 64m
    memswap_limit: 128m
    mem_reservation: 32m
    cpus: 0.5
    cpu_shares: 512
    pids_limit: 50
    restart: on-failure:3
  keeps: {image: x, restart: unless-stopped}
  files:
    image: x
    secrets: [token, {source: fromenv, target: api_key}]
    configs: [{source: inline, target: /etc/app.conf}, plainconf]
secrets:
  token: {file: ./token.txt}
  fromenv: {environment: API_KEY}
configs:
  inline: {content: "a=1\\n"}
  plainconf: {file: ./plain.conf}
"""


@pytest.fixture()
def stack(tmp_path: Path) -> Any:
    (tmp_path / "stack.yaml").write_text(STACK)
    (tmp_path / "token.txt").write_text("t0k3n\n")
    (tmp_path / "plain.conf").write_text("plain\n")
    return load_project(LoadOptions(files=["stack.yaml"], project_name="p", cwd=str(tmp_path),
                                    environ={"HOME": "/root", "API_KEY": "from-env"})).model


def test_command_merges_entrypoint_and_cmd_as_docker(stack: Any) -> None:
    s = stack.services
    assert command_argv(s["plain"], IMAGE) == ("/entry.sh", "serve", "--port", "80")
    assert command_argv(s["cmd"], IMAGE) == ("/entry.sh", "run", "fast")  # command replaces Cmd only
    assert command_argv(s["entry"], IMAGE) == ("/bin/sh", "-c")  # an entrypoint resets the image's Cmd
    assert command_argv(s["both"], IMAGE) == ("/bin/sh", "-c", "echo hi")
    with pytest.raises(InvalidSpec, match="has no command") as err:
        command_argv(s["plain"], {})
    assert err.value.location is not None and err.value.location.key_path == "services.plain.command"
    assert err.value.hint is not None and "CMD" in err.value.hint


def test_process_overlays_the_image(stack: Any) -> None:
    env = stack.services["env"]
    assert environment(env, IMAGE) == {"PATH": "/bin", "MODE": "service", "EXTRA": "1"}  # null is dropped
    proc = process(env, IMAGE)
    assert (proc.cwd, proc.user, proc.additional_groups, proc.tty) == ("/app", "1000:1000", ("wheel",), True)
    plain = process(stack.services["plain"], IMAGE)
    assert (plain.cwd, plain.user, plain.env["MODE"]) == ("/srv", "app", "image")
    assert process(stack.services["plain"], {"Cmd": ["true"]}).cwd == "/"


def test_resources_and_restart(stack: Any) -> None:
    assert resources(stack.services["limited"]) == Resources(
        memory=64 << 20, memory_swap=128 << 20, memory_reservation=32 << 20, cpus=0.5, cpu_shares=512,
        pids_limit=50)
    assert resources(stack.services["plain"]) == Resources()
    assert restart_policy(stack.services["limited"]) == RestartPolicy("on-failure", 3)
    assert restart_policy(stack.services["keeps"]) == RestartPolicy("unless-stopped", 0)
    assert restart_policy(stack.services["plain"]) == RestartPolicy("no", 0)


def test_secret_and_config_mounts(stack: Any, tmp_path: Path) -> None:
    state = tmp_path / "state"
    mounts = file_mounts(stack.services["files"], stack, state, {"API_KEY": "from-env"})
    # environment and inline sources are written per service and target, so each reference gets
    # its own mode and owner; file sources are bound as they are
    api_key = state / "secrets" / "files" / "run__secrets__api_key"
    inline = state / "configs" / "files" / "etc__app.conf"
    assert mounts == [
        Mount(type="bind", source=str(tmp_path / "token.txt"), target="/run/secrets/token", read_only=True),
        Mount(type="bind", source=str(api_key), target="/run/secrets/api_key", read_only=True),
        Mount(type="bind", source=str(inline), target="/etc/app.conf", read_only=True),
        Mount(type="bind", source=str(tmp_path / "plain.conf"), target="/plainconf", read_only=True),
    ]
    assert api_key.read_text() == "from-env"
    assert inline.read_text() == "a=1\n"
    assert stat.S_IMODE(api_key.stat().st_mode) == 0o444  # Compose's default mode
    assert stat.S_IMODE((state / "secrets" / "files").stat().st_mode) == 0o700
