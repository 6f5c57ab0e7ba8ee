"""A real busybox httpd container (through the runtime API) and an ActionTarget over it."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stackfile.runtime import get_runtime
from stackfile.runtime.api import ContainerSpec, ExecSpec, NetworkAttachment, Process, Runtime
from stackfile.store.paths import StorePaths
from stackfile.watch.rules import WatchRule
from tests.conftest import _unmount_below
from tests.support.busybox import make_busybox_layer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Box:
    """One running container serving /app over HTTP on 127.0.0.1:port (host network)."""

    runtime: Runtime
    id: str
    port: int
    base: Path

    @property
    def root(self) -> Path:
        return Path(self.runtime.rootfs_path(self.id))

    def get(self, path: str, timeout: float = 2.0) -> str:
        url = f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.read().decode()


@pytest.fixture(scope="module")
def box() -> Iterator[Box]:
    base = Path(tempfile.mkdtemp(prefix="stackfile-watch-", dir="/var/tmp"))
    runtime = get_runtime(StorePaths.at(base / "store").ensure())
    cid = ""
    try:
        layer = make_busybox_layer(base / "layer")
        (layer / "app").mkdir()
        os.chown(layer / "app", 1000, 1000)
        (layer / "app" / "stale.html").write_text("from the image\n")
        port = free_port()
        spec = ContainerSpec(
            name=f"watch-it-{os.getpid()}", layers=(str(layer),), init=True,
            process=Process(argv=("httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/app")),
            network=NetworkAttachment(mode="host"), stop_grace_seconds=2.0)
        cid = runtime.create(spec)
        runtime.start(cid)
        yield Box(runtime, cid, port, base)
    finally:
        if cid:
            runtime.remove(cid, force=True)
        _unmount_below(base)
        shutil.rmtree(base, ignore_errors=True)


class RuntimeTarget:
    """ActionTarget over one real container: sync into its root, restart and exec through the runtime."""

    def __init__(self, box: Box) -> None:
        self.box = box
        self.calls: list[str] = []

    def roots(self, service: str) -> list[str]:
        return [self.box.runtime.rootfs_path(self.box.id)]

    def restart(self, service: str) -> None:
        self.calls.append("restart")
        self.box.runtime.restart(self.box.id)

    def rebuild(self, service: str) -> None:
        self.calls.append("rebuild")

    def exec(self, service: str, rule: WatchRule) -> int:
        self.calls.append("exec")
        return self.box.runtime.exec(self.box.id, ExecSpec(argv=rule.exec_command))
