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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from stackfile.store.paths import StorePaths

__all__ = ["exclusive", "shared"]


@contextmanager
def _flock(paths: StorePaths | str, mode: int) -> Iterator[None]:
    root = paths if isinstance(paths, str) else str(paths.root)
    os.makedirs(root, exist_ok=True)
    fd = os.open(os.path.join(root, "images.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def shared(paths: StorePaths | str) -> AbstractContextManager[None]:
    """Hold the store lock shared (builds, imports, the build fast path); ``paths`` or a root path."""
    return _flock(paths, fcntl.LOCK_SH)


def exclusive(paths: StorePaths) -> AbstractContextManager[None]:
    """Hold the store lock exclusively (garbage collection)."""
    return _flock(paths, fcntl.LOCK_EX)

