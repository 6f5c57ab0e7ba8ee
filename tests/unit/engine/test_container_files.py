"""Pure parts of ``cp`` and ``commit``: which side of a copy is the container, and the image config a
commit writes (what the container ran, then ``--change`` instructions as Docker applies them)."""

from __future__ import annotations

import pytest

from stackfile.cli.fs_cmd import _human
from stackfile.engine.container_commit import apply_changes, container_config
from stackfile.engine.container_fs import parse_copy_arg
from stackfile.errors import InvalidSpec
from stackfile.runtime.api import ContainerSpec, Process


@pytest.mark.parametrize(("arg", "expected"), [
    ("web:/etc/hosts", ("web", "/etc/hosts")),
    ("abc123:relative", ("abc123", "relative")),
    ("-", (None, "-")),
    ("./a:b", (None, "./a:b")),
    ("/tmp/a:b", (None, "/tmp/a:b")),
    ("plain", (None, "plain")),
    (":x", (None, ":x")),
])
def test_the_container_side_of_a_copy(arg: str, expected: tuple[str | None, str]) -> None:
    assert parse_copy_arg(arg) == expected


def _spec(argv: tuple[str, ...], **kw: object) -> ContainerSpec:
    return ContainerSpec(name="c", layers=("/l",), process=Process(argv=argv, env={"A": "1"}, cwd="/app",
                                                                      user="nobody"), **kw)  # type: ignore[arg-type]


def test_the_config_is_what_the_container_ran_over_its_images() -> None:
    base = {"Entrypoint": ["/entry"], "Cmd": ["default"], "Env": ["PATH=/bin"],
            "ExposedPorts": {"80/tcp": {}}}
    config = container_config(base, _spec(("/entry", "given"), labels={"k": "v"}, stop_signal="SIGINT"))
    assert config == {"Entrypoint": ["/entry"], "Cmd": ["given"], "Env": ["A=1"], "WorkingDir": "/app",
                      "User": "nobody", "Labels": {"k": "v"}, "ExposedPorts": {"80/tcp": {}},
                      "StopSignal": "SIGINT"}
    replaced = container_config(base, _spec(("sh", "-c", "x")))  # --entrypoint replaced it
    assert replaced["Cmd"] == ["sh", "-c", "x"] and "Entrypoint" not in replaced


def test_change_instructions() -> None:
    config = apply_changes({"Env": ["A=1"], "Labels": {"old": "1"}}, (
        'CMD ["run", "it"]', "ENTRYPOINT /bin/start --fast", "ENV A=2 B=3", "ENV C with spaces",
        'LABEL new="a b"', "EXPOSE 80 53/udp", 'VOLUME ["/data"]', "USER app", "workdir /srv",
        "STOPSIGNAL SIGQUIT"))
    assert config == {"Cmd": ["run", "it"], "Entrypoint": ["/bin/sh", "-c", "/bin/start --fast"],
                      "Env": ["A=2", "B=3", "C=with spaces"], "Labels": {"old": "1", "new": "a b"},
                      "ExposedPorts": {"80/tcp": {}, "53/udp": {}}, "Volumes": {"/data": {}},
                      "User": "app", "WorkingDir": "/srv", "StopSignal": "SIGQUIT"}


@pytest.mark.parametrize("change", ["RUN true", "CMD", "LABEL novalue"])
def test_bad_change_instructions_name_the_flag(change: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        apply_changes({}, (change,))
    assert "--change" in info.value.render()


@pytest.mark.parametrize(("size", "text"), [(0, "0B"), (512, "512B"), (2048, "2.05kB"), (1_500_000, "1.5MB")])
def test_copied_sizes_read_as_dockers(size: int, text: str) -> None:
    assert _human(size) == text
