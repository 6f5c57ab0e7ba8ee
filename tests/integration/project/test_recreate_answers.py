"""A recreated container answers on its published port at once: it reuses its IP, and its MAC is
derived from that IP as Docker does (02:42:<ip>), so the host's neighbour entry for the IP stays
right; with a fresh random MAC the old entry sent traffic to a gone address for seconds."""

from __future__ import annotations

import time
import urllib.request

from tests.conftest import needs_root
from tests.integration.project.conftest import Project
from tests.integration.project.test_quickstart import free_port

pytestmark = needs_root


def stack(port: int) -> str:
    return f"""\
services:
  api:
    image: busybox
    command: ["sh", "-c", "echo $$GREETING > /var/www/index.html && exec httpd -f -p 8080 -h /var/www"]
    environment:
      GREETING: ${{GREETING:-hello}}
    ports: ["127.0.0.1:{port}:8080"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 1s
      start_period: 5s
      start_interval: 100ms
  db:
    image: busybox
    command: ["sleep", "100000"]
    stop_signal: SIGKILL
"""


def first_answer(port: int, within: float) -> tuple[str, float]:
    """The page on ``port`` and how long it took to get, trying until ``within`` seconds passed."""
    t0 = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=0.25) as resp:
                return resp.read().decode(), time.monotonic() - t0
        except OSError:
            if time.monotonic() - t0 > within:
                raise
            time.sleep(0.02)


def test_five_recreates_each_answer_within_a_second(project: Project) -> None:
    port = free_port()
    project.write(stack(port))
    project.sf("up", "-d", "--wait")
    assert first_answer(port, 10)[0] == "hello\n"
    macs = set()
    for i in range(5):
        greeting = f"bye{i}"
        (project.workdir / ".env").write_text(f"GREETING={greeting}\n")
        project.sf("up", "-d", "--wait")
        page, took = first_answer(port, 5)
        assert (page, took < 1.0) == (f"{greeting}\n", True), took
        macs.add(project.sf("exec", "api", "cat", "/sys/class/net/eth0/address").stdout.strip())
    assert len(macs) == 1 and next(iter(macs)).startswith("02:42:"), macs
