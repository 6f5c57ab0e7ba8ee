"""Smaller Compose behaviours checked against Docker Compose v2.40: replica numbering after a
removal, ``port`` answering the mapping asked for, ``ps``'s command quoting and its JSON fields
(LocalVolumes, Mounts, Networks, RunningFor, Size)."""

from __future__ import annotations

import re

from tests.conftest import needs_root
from tests.integration.project.conftest import Project
from tests.integration.project.test_quickstart import free_port

pytestmark = needs_root


def _short(project: Project) -> list[str]:
    return sorted(name.removeprefix(f"{project.name}-") for name in project.ps())


def test_a_removed_replica_is_not_refilled(project: Project) -> None:
    project.write("""\
services:
  web:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
    deploy: {replicas: 3}
""")
    project.sf("up", "-d")
    project.sf("container", "rm", "-f", f"{project.name}-web-2", file=False)
    project.sf("up", "-d")
    assert _short(project) == ["web-1", "web-3", "web-4"]
    project.sf("up", "-d", "--scale", "web=2")
    assert _short(project) == ["web-1", "web-3"]  # the highest number goes first


def test_port_answers_the_mapping_asked_for(project: Project) -> None:
    tcp80, tcp81, udp81, tcp82 = (free_port() for _ in range(4))
    project.write(f"""\
services:
  front:
    image: busybox
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
    ports:
      - "127.0.0.1:{tcp80}:80"
      - "127.0.0.1:{tcp81}:81"
      - "127.0.0.1:{udp81}:81/udp"
      - {{target: 82, published: "{tcp82}", host_ip: 127.0.0.1}}
""")
    project.sf("up", "-d")
    assert project.sf("port", "front", "81").stdout.strip() == f"127.0.0.1:{tcp81}"
    assert project.sf("port", "--protocol", "udp", "front", "81").stdout.strip() == f"127.0.0.1:{udp81}"
    assert project.sf("port", "front", "82").stdout.strip() == f"127.0.0.1:{tcp82}"
    assert project.sf("port", "front", "80").stdout.strip() == f"127.0.0.1:{tcp80}"
    assert project.sf("port", "front", "83", check=False).returncode != 0


def test_ps_keeps_the_commands_quotes_and_has_composes_json_fields(project: Project) -> None:
    (project.workdir / "cfg").mkdir()
    project.write("""\
services:
  front:
    image: busybox
    command: ["sh", "-c", "echo 'hello world' \\"x y\\"; exec sleep 1000"]
    stop_signal: SIGKILL
    volumes: ["data:/data", "./cfg:/cfg"]
    networks: [back, default]
volumes:
  data:
networks:
  back:
""")
    project.sf("up", "-d")
    (row,) = project.ps().values()
    assert row["Command"] == """sh -c 'echo 'hello world' "x y"; exec sleep 1000'"""  # Docker's
    assert row["LocalVolumes"] == "1"
    cfg = str(project.workdir / "cfg")
    assert len(cfg) > 15 and row["Mounts"] == f"{cfg[:14]}…,{project.name}_data"  # cut to 15, by target
    assert row["Networks"] == f"{project.name}_back,{project.name}_default"
    assert re.fullmatch(r"(Less than a second|\d+ seconds?) ago", str(row["RunningFor"])), row["RunningFor"]
    assert row["Size"] == "0B"
    table = project.sf("ps").stdout
    assert '"sh -c \'echo \'hello …"' in table  # Docker's COMMAND cell: 19 characters and an ellipsis
    project.sf("stop", "front")
    (row,) = project.ps().values()
    assert row["Networks"] == f"{project.name}_back,{project.name}_default" and row["LocalVolumes"] == "1"
