"""engine.containers: image config + flags → ContainerSpec (Docker's merge rules) and flag parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackfile.engine.containers import RunOptions, build_spec, parse_env, parse_restart, parse_since
from stackfile.errors import InvalidSpec
from stackfile.runtime.api import RestartPolicy

CONFIG = {"Entrypoint": ["/entry.sh"], "Cmd": ["serve", "--port", "80"], "Env": ["PATH=/bin", "A=image"],
          "WorkingDir": "/app", "User": "app", "Labels": {"from": "image"}, "StopSignal": "SIGQUIT"}


def spec(**kw: object):  # type: ignore[no-untyped-def]
    return build_spec(CONFIG, ("/l",), RunOptions(image="img", **kw), {"HOSTVAR": "h"})  # type: ignore[arg-type]


def test_image_defaults() -> None:
    s = spec()
    assert s.process.argv == ("/entry.sh", "serve", "--port", "80")
    assert dict(s.process.env) == {"PATH": "/bin", "A": "image"}
    assert (s.process.cwd, s.process.user, s.stop_signal) == ("/app", "app", "SIGQUIT")
    assert s.labels == {"from": "image"} and s.layers == ("/l",)


def test_flags_override(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nB=file\nA=file\n\nHOSTVAR\n")
    s = spec(command=("sh",), env=("A=flag", "HOSTVAR", "MISSING"), env_files=(str(env_file),), workdir="/w",
             user="0", labels=("x=1",), memory="64m", cpus=1.5, pids_limit=7, restart="on-failure:3", rm=True)
    assert s.process.argv == ("/entry.sh", "sh")
    assert dict(s.process.env) == {"PATH": "/bin", "A": "flag", "B": "file", "HOSTVAR": "h"}
    assert (s.process.cwd, s.process.user) == ("/w", "0")
    assert s.labels == {"from": "image", "x": "1"}
    assert (s.resources.memory, s.resources.cpus, s.resources.pids_limit) == (64 << 20, 1.5, 7)
    assert s.restart == RestartPolicy("on-failure", 3) and s.auto_remove


def test_mount_and_limit_flags(tmp_path: Path) -> None:
    s = spec(volumes=("/srv/data:/data:ro", "./rel:/rel"), tmpfs=("/run:size=1m,mode=700", "/scratch"),
             sysctls=("net.ipv4.ip_forward=1",), ulimits=("nofile=512:1024", "nproc=64"), shm_size="8m",
             memory_swap="-1", cpu_shares=512, stop_signal="SIGINT", stop_timeout=3)
    assert [(m.type, m.target, m.read_only) for m in s.mounts] == [
        ("bind", "/data", True), ("bind", "/rel", False), ("tmpfs", "/run", False),
        ("tmpfs", "/scratch", False)]
    assert s.mounts[0].source == "/srv/data" and s.mounts[1].source.endswith("/rel")
    assert (s.mounts[2].tmpfs_size, s.mounts[2].tmpfs_mode) == (1 << 20, 0o700)
    assert s.sysctls == {"net.ipv4.ip_forward": "1"}
    assert s.ulimits == {"nofile": (512, 1024), "nproc": (64, 64)}
    assert (s.shm_size, s.resources.memory_swap, s.resources.cpu_shares) == (8 << 20, -1, 512)
    assert (s.stop_signal, s.stop_grace_seconds) == ("SIGINT", 3)
    for bad in ({"volumes": ("data:/data",)}, {"volumes": ("/a:/b:rx",)}, {"sysctls": ("x",)},
                {"ulimits": ("nofile=lots",)}, {"shm_size": "big"}):
        with pytest.raises(InvalidSpec):
            spec(**bad)


def test_entrypoint_override_drops_image_cmd() -> None:
    assert spec(entrypoint="/bin/sh").process.argv == ("/bin/sh",)
    assert spec(entrypoint="", command=("echo", "x")).process.argv == ("echo", "x")


def test_bad_flags() -> None:
    with pytest.raises(InvalidSpec, match=r"memory|size"):
        spec(memory="lots")
    with pytest.raises(InvalidSpec, match="restart"):
        parse_restart("on-failure:x")
    with pytest.raises(InvalidSpec, match="restart"):
        parse_restart("always:3")
    with pytest.raises(InvalidSpec):
        parse_env(("=x",), {})
    with pytest.raises(InvalidSpec, match="cpus"):
        spec(cpus=0)
    with pytest.raises(InvalidSpec, match="security"):
        spec(security_opt=("apparmor=x",))
    assert spec(security_opt=("seccomp=unconfined",)).seccomp is False and spec().seccomp is True
    with pytest.raises(InvalidSpec, match="no command"):
        build_spec({}, (), RunOptions(image="scratch"), {})


def test_parse_since() -> None:
    assert parse_since("2026-01-01T00:00:00Z") == "2026-01-01T00:00:00.000000000Z"
    assert parse_since("10s", now=100.0) == "1970-01-01T00:01:30.000000000Z"
    assert parse_since("60", now=0) == "1970-01-01T00:01:00.000000000Z"
    assert parse_since(None) is None
    with pytest.raises(InvalidSpec):
        parse_since("yesterday")
