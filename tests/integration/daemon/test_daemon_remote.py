"""The CLI through a daemon (``STACKFILE_HOST``): a container runs with the same output and exit
code as in-process; a 4-service stack with a published port, a bind-mounted directory of the
project and a health-gated dependency comes up with ``up -d --wait``; ``ps``, ``logs`` and
``down -v`` work; a ``kill -9`` of the daemon leaves the stack serving, and a daemon restarted with
a mutual-TLS listener lists the same containers, while clients without a good certificate are
refused."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import needs_root
from tests.integration.daemon.conftest import REPO, Daemons, free_port, tls_files

pytestmark = needs_root


def sf(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120
       ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackfile", *args], env=env, cwd=cwd or REPO, text=True,
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def answer(port: int, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                return str(resp.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_container_run_through_the_daemon_matches_in_process(daemons: Daemons) -> None:
    d = daemons.start(daemons.unix())
    remote = daemons.env(STACKFILE_HOST=f"unix://{d.sock}", GREETING="hello")
    local = daemons.env(STACKFILE_ROOT=str(daemons.root), GREETING="hello")
    argv = ("container", "run", "--rm", "-e", "GREETING", "busybox", "sh", "-c",
            "echo $GREETING; echo oops >&2; exit 3")
    there, here = sf(*argv, env=remote), sf(*argv, env=local)
    assert (there.returncode, there.stdout, there.stderr) == (3, "hello\n", "oops\n")
    assert (there.returncode, there.stdout, there.stderr) == (here.returncode, here.stdout, here.stderr)
    cid = ok(sf("container", "run", "-d", "--name", "bg", "busybox", "sh", "-c", "echo started; sleep 100",
                env=remote)).strip()
    assert len(cid) == 64
    listed = ok(sf("container", "ls", "-q", env=remote))
    assert ok(sf("-H", f"unix://{d.sock}", "container", "ls", "-q", env=daemons.env())) == listed
    assert listed == ok(sf("container", "ls", "-q", env=local)) == cid[:12] + "\n"
    deadline = time.monotonic() + 10
    while "started" not in ok(sf("container", "logs", "bg", env=remote)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ok(sf("container", "logs", "bg", env=remote)) == "started\n"
    assert "busybox" in ok(sf("image", "ls", env=remote))
    assert ok(sf("container", "stop", "-t", "0", "bg", env=remote)) == "bg\n"
    assert ok(sf("container", "rm", "bg", env=remote)) == "bg\n"
    missing = sf("container", "rm", "bg", env=remote)
    assert missing.returncode == sf("container", "rm", "bg", env=local).returncode == 14
    assert "no such container" in missing.stderr
    assert ok(sf("container", "ls", "-aq", env=local)) == ""


STACK = """\
services:
  db:
    image: busybox
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; echo db ready; exec sleep 1000"]
    healthcheck: {{test: ["CMD", "test", "-f", "/tmp/ready"], interval: 1s, timeout: 2s, retries: 10}}
    stop_signal: SIGKILL
  api:
    image: busybox
    command: ["sh", "-c", "echo api up; exec sleep 1000"]
    depends_on: {{db: {{condition: service_healthy}}}}
    stop_signal: SIGKILL
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && cp /site/index.html /www/ && exec httpd -f -p 8080 -h /www"]
    volumes: ["./site:/site:ro"]
    ports: ["127.0.0.1:{port}:8080"]
    depends_on: [api]
    stop_signal: SIGKILL
  worker:
    image: busybox
    command: ["sh", "-c", "echo worker ready >> /data/log; cat /data/log; exec sleep 1000"]
    volumes: ["data:/data"]
    stop_signal: SIGKILL
volumes:
  data: {{}}
"""


def _ps(env: dict[str, str], workdir: Path, name: str) -> dict[str, dict[str, object]]:
    out = ok(sf("-p", name, "-f", "stack.yaml", "ps", "-a", "--format", "json", env=env, cwd=workdir))
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {str(r["Service"]): r for r in rows}


def test_a_stack_through_the_daemon_outlives_it_and_is_served_again_over_tls(
        daemons: Daemons, certs: dict[str, Path], tmp_path: Path) -> None:
    port, tls_port = free_port(), free_port()
    workdir = tmp_path / "proj"
    (workdir / "site").mkdir(parents=True)
    (workdir / "site" / "index.html").write_text("hello from the project\n")
    (workdir / "stack.yaml").write_text(STACK.format(port=port))
    name = f"d{os.getpid()}"
    d = daemons.start(daemons.unix())
    remote = daemons.env(STACKFILE_HOST=f"unix://{d.sock}")
    local = daemons.env(STACKFILE_ROOT=str(daemons.root))
    project = ("-p", name, "-f", "stack.yaml")

    up = sf(*project, "up", "-d", "--wait", env=remote, cwd=workdir)
    ok(up)
    assert "Healthy" in up.stderr and "Started" in up.stderr
    rows = _ps(remote, workdir, name)
    assert sorted(rows) == ["api", "db", "web", "worker"]
    assert all(r["State"] == "running" for r in rows.values())
    assert rows["db"]["Health"] == "healthy"
    ids = sorted(str(r["ID"]) for r in rows.values())
    assert sorted(ok(sf(*project, "ps", "-q", env=local, cwd=workdir)).split()) == ids  # the same containers
    assert answer(port) == "hello from the project\n"  # the project's files reached the daemon
    logs = ok(sf(*project, "logs", "--no-color", env=remote, cwd=workdir))
    assert re.search(r"^api-1 +\| api up$", logs, re.M), logs
    assert "worker ready" in logs and "db ready" in logs
    ran = sf(*project, "exec", "-T", "api", "sh", "-c", "echo out; echo err >&2; exit 4", env=remote,
             cwd=workdir)
    assert (ran.returncode, ran.stdout, ran.stderr) == (4, "out\n", "err\n")
    assert ok(sf(*project, "exec", "-T", "web", "cat", "/site/index.html", env=remote, cwd=workdir)) == \
        "hello from the project\n"

    os.kill(d.proc.pid, signal.SIGKILL)  # the daemon dies; the stack does not
    d.proc.wait(10)
    assert answer(port) == "hello from the project\n"

    d2 = daemons.start(daemons.unix(), f"tcp://127.0.0.1:{tls_port}", tls=tls_files(certs["server"]))
    assert "listening" in d2.output()
    over_tls = daemons.env(STACKFILE_HOST=f"tcp://127.0.0.1:{tls_port}", STACKFILE_TLS_VERIFY="1",
                           STACKFILE_CERT_PATH=str(certs["client"]))
    assert sorted(str(r["ID"]) for r in _ps(over_tls, workdir, name).values()) == ids
    assert ok(sf(*project, "exec", "-T", "db", "cat", "/tmp/ready", env=over_tls, cwd=workdir)) == ""
    for refused in (daemons.env(STACKFILE_HOST=f"tcp://127.0.0.1:{tls_port}"),  # no TLS at all
                    daemons.env(STACKFILE_HOST=f"tcp://127.0.0.1:{tls_port}", STACKFILE_TLS_VERIFY="1",
                                STACKFILE_CERT_PATH=str(certs["other"]))):  # a certificate of another CA
        proc = sf(*project, "ps", "-q", env=refused, cwd=workdir)
        assert proc.returncode == 17, proc.stderr
        assert "cannot reach the stackfile daemon" in proc.stderr

    down = sf(*project, "down", "-v", "-t", "1", env=over_tls, cwd=workdir)
    ok(down)
    assert "Removed" in down.stderr
    assert ok(sf("container", "ls", "-aq", env=local)) == ""
    assert name not in ok(sf("volume", "ls", env=local))
