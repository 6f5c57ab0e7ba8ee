"""``export swarm`` on a real single-node Docker Swarm: ``docker stack deploy`` takes the file, every
service reaches its replica count, and a task answers another over the stack's overlay network.

Swarm's routing mesh needs IPVS, which this machine kind's kernel lacks, so the check reaches the
tasks by their own addresses (``tasks.web``), not through the service's virtual IP. The test
leaves Swarm as it found it: it initialises Swarm only if it was inactive, and then leaves it and
removes the bridge Swarm made.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ground_truth import docker_cli

pytestmark = pytest.mark.ground_truth("docker")
DOCKER = docker_cli() or "docker"

STACK = """\
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-$$HOSTNAME > /www/index.html &&
              httpd -f -p 8080 -h /www"]
    deploy:
      replicas: 2
      resources:
        limits: {memory: 64M, cpus: "0.5"}
    environment:
      GREETING: hello
    restart: unless-stopped
    depends_on: [cache]
    container_name: not-in-swarm
  cache:
    image: busybox:latest
    command: ["sleep", "3600"]
    volumes: ["cache-data:/data"]
volumes:
  cache-data: {}
"""


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check, timeout=120)


@pytest.fixture
def swarm() -> Iterator[None]:
    state = _docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()
    networks_before = set(_docker("network", "ls", "--format", "{{.Name}}").stdout.split())
    started = state == "inactive"
    if started:
        _docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    try:
        yield
    finally:
        if started:
            _docker("swarm", "leave", "--force", check=False)
            if "docker_gwbridge" not in networks_before:
                _docker("network", "rm", "docker_gwbridge", check=False)


@pytest.fixture
def stack_name(swarm: None) -> Iterator[str]:
    name = f"sfx{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        _docker("stack", "rm", name, check=False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the stack's network goes last; then its volume is free
            if f"{name}_default" not in _docker("network", "ls", "--format", "{{.Name}}").stdout.split():
                break
            time.sleep(0.5)
        for _ in range(20):
            if (
                _docker("volume", "rm", f"{name}_cache-data", check=False).returncode == 0
                or f"{name}_cache-data" not in _docker("volume", "ls", "-q").stdout.split()
            ):
                break
            time.sleep(0.5)


def _replicas(name: str) -> dict[str, str]:
    out = _docker(
        "service",
        "ls",
        "--filter",
        f"label=com.docker.stack.namespace={name}",
        "--format",
        "{{.Name}} {{.Replicas}}",
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def test_exported_stack_deploys_and_answers(stack_name: str, tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(STACK)
    export = subprocess.run(
        [
            sys.executable,
            "-m",
            "stackfile",
            "-f",
            str(tmp_path / "stack.yaml"),
            "-p",
            stack_name,
            "export",
            "swarm",
            "-o",
            str(tmp_path / "swarm.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert export.returncode == 0, export.stderr
    for dropped in ("depends_on", "restart", "container_name"):
        assert f"services.web.{dropped}: not supported by Swarm" in export.stderr
    deploy = _docker("stack", "deploy", "-c", str(tmp_path / "swarm.yaml"), stack_name, check=False)
    assert deploy.returncode == 0, deploy.stderr
    assert (
        "Ignoring unsupported options" not in deploy.stderr + deploy.stdout
    )  # nothing left for Swarm to drop

    want = {f"{stack_name}_web": "2/2", f"{stack_name}_cache": "1/1"}
    deadline = time.monotonic() + 90
    while _replicas(stack_name) != want and time.monotonic() < deadline:
        time.sleep(1)
    assert _replicas(stack_name) == want

    cache = _docker(
        "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack_name}_cache"
    ).stdout.split()
    assert cache
    found = _docker("exec", cache[0], "nslookup", "tasks.web").stdout
    addresses = sorted(set(re.findall(r"Address:\s*(10\.\d+\.\d+\.\d+)", found)))
    assert len(addresses) == 2, found
    pages = set()
    for address in addresses:
        reply = _docker(
            "exec", cache[0], "sh", "-c", f'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 5 {address} 8080'
        ).stdout
        assert "200 OK" in reply, reply
        pages.add(reply.strip().splitlines()[-1])
    assert len(pages) == 2 and all(p.startswith("hello-from-") for p in pages)  # two replicas, each answering
