"""Fixtures for network tests: a module-wide store root and network manager, processes run inside
sandboxes with nsenter (host busybox), and a leak check of links, mounts, processes and rules."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.network import NetworkManager, Sandbox
from stackfile.store.paths import StorePaths
from tests.conftest import _unmount_below


@pytest.fixture(scope="module")
def nm() -> Iterator[NetworkManager]:
    """A network manager on a throwaway store root; everything it made is removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="stackfile-net-", dir="/var/tmp"))
    manager = NetworkManager(StorePaths.at(root).ensure())
    try:
        yield manager
    finally:
        try:
            for sid in manager.sandbox_ids():
                manager.destroy_sandbox(sid)
            manager.prune()
        finally:
            _unmount_below(root)
            shutil.rmtree(root, ignore_errors=True)


UDP_ECHO = (
    "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('0.0.0.0',{port}))\n"
    "while True:\n d,a=s.recvfrom(2048);s.sendto(b'echo:'+d,a)\n"
)


class Procs:
    """Processes started inside sandboxes; killed by pid at teardown."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, netns: str, *argv: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(["nsenter", f"--net={netns}", *argv],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    @staticmethod
    def run(netns: str, *argv: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        """Run a command inside a sandbox's namespace (never busybox wget -T: it segfaults)."""
        return subprocess.run(["timeout", str(timeout), "nsenter", f"--net={netns}", *argv],
                              capture_output=True, text=True, check=False)

    @staticmethod
    def run_sb(sandbox: Sandbox, *argv: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        """Like :meth:`run`, with the sandbox's /etc/hosts and /etc/resolv.conf bind-mounted in a
        private mount namespace, as the runtime does for a container."""
        with tempfile.TemporaryDirectory(prefix="sf-etc-") as tmp:
            hosts, resolv = Path(tmp, "hosts"), Path(tmp, "resolv.conf")
            hosts.write_text(sandbox.etc_hosts)
            resolv.write_text(sandbox.resolv_conf)
            script = (f"mount --bind {hosts} /etc/hosts && mount --bind {resolv} /etc/resolv.conf"
                      ' && exec "$@"')
            return subprocess.run(["timeout", str(timeout), "nsenter", f"--net={sandbox.netns_path}",
                                   "unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                                   *argv], capture_output=True, text=True, check=False)

    def httpd(self, netns: str, docroot: Path, text: str, port: int = 80) -> None:
        """busybox httpd serving ``text`` at / inside the sandbox."""
        docroot.mkdir(parents=True, exist_ok=True)
        (docroot / "index.html").write_text(text)
        self.start(netns, "busybox", "httpd", "-f", "-p", str(port), "-h", str(docroot))

    def udp_echo(self, netns: str, port: int) -> None:
        """A UDP server answering ``echo:<datagram>`` inside the sandbox."""
        self.start(netns, sys.executable, "-c", UDP_ECHO.format(port=port))

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


@pytest.fixture()
def procs() -> Iterator[Procs]:
    p = Procs()
    try:
        yield p
    finally:
        p.kill_all()
