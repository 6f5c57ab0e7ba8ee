"""The shim's program: ``python -S -c <boot> <pkg dir> <store root> <container id> <ready fd>``.

It forks once so the starter can reap it at once (the real shim is re-parented to init), then
supervises the container (see :mod:`stackfile.runtime.linux.shim`).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> None:
    """Entry point; ``argv`` is ``[store_root, container_id, ready_fd]``."""
    store_root, container_id, ready = argv[0], argv[1], int(argv[2])
    if os.fork():
        os._exit(0)
    from pathlib import Path

    from stackfile.runtime.linux.shim import run_shim
    from stackfile.runtime.linux.state import ContainerDir

    root = Path(store_root)
    try:
        run_shim(ContainerDir(root / "containers" / container_id), str(root), str(root / "l"), ready)
    except BaseException as exc:
        try:
            os.write(ready, f"125 supervisor failed: {type(exc).__name__}: {exc}".encode())
        except OSError:
            pass
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":  # python -m stackfile.runtime.linux.shim_main ROOT ID READY_FD
    main(sys.argv[1:])
