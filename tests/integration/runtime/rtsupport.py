"""Helpers for runtime integration tests: the test environment, output capture, leftovers checks."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stackfile.runtime.api import ContainerSpec, Process
from stackfile.runtime.linux.runtime import LinuxRuntime
from stackfile.store.paths import StorePaths

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass
class Env:
    paths: StorePaths
    layer: str
    rt: LinuxRuntime

    def spec(self, *argv: str, **kw: object) -> ContainerSpec:
        """A busybox container spec running ``argv`` (a single string runs under ``sh -c``)."""
        process = kw.pop("process", None) or Process(argv=("sh", "-c", argv[0]) if len(argv) == 1 else argv)
        return ContainerSpec(name=str(kw.pop("name", "")), layers=(self.layer,), process=process,
                             **kw)  # type: ignore[arg-type]


def cgroup_dirs(cid: str) -> list[Path]:
    """The container's cgroup directories that exist, where the runtime puts them (v1 or v2)."""
    from tests.support.cleanup import cgroup_dirs as runtime_cgroup_dirs

    return [Path(d) for d in runtime_cgroup_dirs(cid)]


def host_mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as fh:
        return [ln.split()[4] for ln in fh if ln.split()[4].startswith(str(path))]


@contextlib.contextmanager
def captured() -> Iterator[list[str]]:
    """Capture fds 1 and 2 (where foreground containers and exec write) into the yielded list."""
    out: list[str] = []
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(1), os.dup(2)
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            tmp.seek(0)
            out.append(tmp.read().decode())
