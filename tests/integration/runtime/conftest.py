"""Fixtures for runtime integration tests: a store with a busybox layer and a runtime; at the end every
container is removed and nothing (process, cgroup, mount, directory) may be left behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.runtime.linux.runtime import LinuxRuntime
from stackfile.store.paths import StorePaths
from tests.conftest import _unmount_below
from tests.integration.runtime.rtsupport import Env, cgroup_dirs
from tests.support.busybox import make_busybox_layer


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    root = Path(tempfile.mkdtemp(prefix="stackfile-rt-", dir="/var/tmp"))
    paths = StorePaths.at(root).ensure()
    rt = LinuxRuntime(paths)
    try:
        yield Env(paths, str(make_busybox_layer(root / "busybox")), rt)
    finally:
        ids = [n for n in os.listdir(paths.containers) if not n.startswith(".")]
        for cid in ids:
            with contextlib.suppress(Exception):
                rt.remove(cid, force=True)
        _unmount_below(root)
        shutil.rmtree(root, ignore_errors=True)
        for cid in ids:
            for d in cgroup_dirs(cid):
                with contextlib.suppress(OSError):
                    d.rmdir()
