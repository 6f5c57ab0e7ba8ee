"""One container on this host: the ContainerSpec / Runtime API and its Linux implementation."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import (see stackfile/record.py)
if TYPE_CHECKING:
    from stackfile.runtime.api import Runtime
    from stackfile.store.paths import StorePaths

__all__ = ["get_runtime"]


def get_runtime(paths: StorePaths) -> Runtime:
    """The runtime for this host (the built-in Linux one) over the store at ``paths``."""
    from stackfile.runtime.linux.runtime import LinuxRuntime

    return LinuxRuntime(paths)
