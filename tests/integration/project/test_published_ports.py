"""Published ports follow the container, as with Docker: a stop frees the host port, a start binds
it again; a port taken meanwhile is a clear error; removing a service container (by the project or
by ``container rm``) frees its port; ``down`` clears a sandbox whose container is already gone."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

from stackfile.runtime import get_runtime  # type: ignore[attr-defined,unused-ignore]
from stackfile.store.paths import StorePaths
from tests.conftest import needs_root
from tests.integration.project.conftest import Project
from tests.integration.project.test_quickstart import free_port

pytestmark = needs_root


def stack(port: int) -> str:
    return f"""\
services:
  front:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo front > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["127.0.0.1:{port}:8080"]
    stop_signal: SIGKILL
"""


def bound(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def answer(port: int, timeout: float = 10.0) -> str:
    """The page served on the port (retried while the server starts)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                return str(resp.read().decode())
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_stop_frees_the_port_and_start_binds_it_again(project: Project) -> None:
    port = free_port()
    project.write(stack(port))
    project.sf("up", "-d")
    assert answer(port) == "front\n"
    project.sf("stop", "front")
    assert not bound(port)
    assert project.ps()[f"{project.name}-front-1"]["Publishers"] == []
    project.sf("start", "front")
    assert answer(port) == "front\n"
    project.sf("container", "stop", f"{project.name}-front-1", file=False)  # the same by its name
    assert not bound(port)
    project.sf("container", "start", f"{project.name}-front-1", file=False)
    assert answer(port) == "front\n"
    project.sf("stop", "front")
    project.sf("restart", "front")  # a stopped container restarted gets its port back too
    assert answer(port) == "front\n"


def test_a_port_taken_while_stopped_is_a_clear_error_then_free_again(project: Project) -> None:
    port = free_port()
    project.write(stack(port))
    project.sf("up", "-d")
    project.sf("stop", "front")
    # a one-off with the service's ports takes the freed port, as `docker compose run --service-ports`
    project.sf("run", "-d", "--service-ports", "--name", "taker", "front")
    assert answer(port) == "front\n"
    failed = project.sf("start", "front", check=False)
    assert failed.returncode != 0
    assert f"port 127.0.0.1:{port}/tcp is already in use on the host (service 'front')" in failed.stderr
    project.sf("container", "rm", "-f", "taker", file=False)  # takes its sandbox and port with it
    assert not bound(port)
    project.sf("start", "front")
    assert answer(port) == "front\n"


def test_down_clears_a_sandbox_whose_container_is_gone(project: Project) -> None:
    """A container removed behind the project's back (the runtime alone, as a crash between the
    two removals would leave it) keeps its sandbox and port: ``down`` still removes everything."""
    port = free_port()
    project.write(stack(port))
    project.sf("up", "-d")
    get_runtime(StorePaths.at(project.root)).remove(f"{project.name}-front-1", force=True)
    assert bound(port)  # the orphaned sandbox's proxy
    project.sf("down")
    assert not bound(port)
    assert project.sf("network", "ls", "-q", file=False).stdout.strip() == ""


def test_errors_after_loading_name_the_file_and_line(project: Project) -> None:
    """A taken port and a missing build context are found after the file was loaded: the message
    still points at the line."""
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen(1)
        project.write(stack(port))
        failed = project.sf("up", "-d", check=False)
    assert failed.returncode != 0
    assert "stack.yaml:5:5 (services.front.ports)" in failed.stderr, failed.stderr
    assert f"port 127.0.0.1:{port}/tcp is already in use" in failed.stderr
    project.write("services:\n  app:\n    build: ./missing\n")
    failed = project.sf("build", check=False)
    assert failed.returncode != 0
    assert "stack.yaml:3:5 (services.app.build.context)" in failed.stderr, failed.stderr
    assert "build context" in failed.stderr and "is not a directory" in failed.stderr


def test_a_container_that_exits_by_itself_frees_its_port(project: Project) -> None:
    """Its supervisor frees the port when the container dies and its restart policy lets it stay down;
    a start binds it again."""
    port = free_port()
    project.write(stack(port).replace("exec httpd -f -p 8080 -h /www", "httpd -p 8080 -h /www && sleep 1")
                  .replace("    stop_signal: SIGKILL\n", "    restart: on-failure:1\n"))
    project.sf("up", "-d")
    assert answer(port) == "front\n"
    deadline = time.monotonic() + 15
    while bound(port):
        assert time.monotonic() < deadline, "the port is still bound after the container exited"
        time.sleep(0.1)
    assert project.ps()[f"{project.name}-front-1"]["State"] == "exited"
    project.sf("start", "front")
    assert answer(port) == "front\n"
