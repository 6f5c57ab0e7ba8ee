"""The shim's program: ``python -S -c <boot> <pkg dir> <store root> <container id> <ready fd>``.

It forks once so the starter can reap it at once (the real shim is re-parented to init), then
supervises the container (see :mod:`stackfile.runtime.linux.shim`). With ``+ -1 <socket fd>``
instead of the id and ready fd it is a zygote: it forks one shim per container it is sent (with a
gate fd as well: one that prepares the container and starts it when the gate says ``G``).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> None:
    """Entry point; ``argv`` is ``[root, container_id, ready_fd]`` or ``[root, "+", "-1", sock_fd]``."""
    store_root, container_id, ready = argv[0], argv[1], int(argv[2])
    if os.fork():
        os._exit(0)
    from pathlib import Path

    from stackfile.runtime.linux.shim import run_shim
    from stackfile.runtime.linux.state import ContainerDir

    root = Path(store_root)

    def run(cid: str, ready_fd: int, gate_fd: int = -1) -> None:
        if cid != argv[1]:  # a shim forked by a zygote: show its container in ps
            from stackfile.runtime.linux._libc import set_process_title

            set_process_title(f"stackfile-shim shim_main {store_root} {cid}")
        try:
            run_shim(ContainerDir(root / "containers" / cid), str(root), str(root / "l"), ready_fd, gate_fd)
        except BaseException as exc:
            try:
                os.write(ready_fd, f"125 supervisor failed: {type(exc).__name__}: {exc}".encode())
            except OSError:
                pass
            sys.exit(1)
        sys.exit(0)

    if container_id == "+":  # a zygote: one forked shim per container it is sent
        from stackfile.runtime.linux.shim import serve_zygote

        serve_zygote(int(argv[3]), run)
        os._exit(0)
    run(container_id, ready)


if __name__ == "__main__":  # python -m stackfile.runtime.linux.shim_main ROOT ID READY_FD
    main(sys.argv[1:])
