"""Inter-process locks on the image store: builds share, garbage collection excludes.

``flock`` on a file under the store root: any number of builders and importers hold the lock
shared while they may still reference a layer they have not recorded yet; garbage collection
holds it exclusively, so it never removes a layer a concurrent build is about to use.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from stackfile.store.paths import StorePaths

__all__ = ["exclusive", "shared"]


def _lock_path(paths: StorePaths) -> str:
    return str(paths.root / "images.lock")


@contextmanager
def _flock(paths: StorePaths, mode: int) -> Iterator[None]:
    paths.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(paths), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def shared(paths: StorePaths) -> AbstractContextManager[None]:
    """Hold the store lock shared (builds, imports)."""
    return _flock(paths, fcntl.LOCK_SH)


def exclusive(paths: StorePaths) -> AbstractContextManager[None]:
    """Hold the store lock exclusively (garbage collection)."""
    return _flock(paths, fcntl.LOCK_EX)

