"""The shim's program: ``python -S -c <boot> <pkg dir> <root> <id|-|+> <ready fd> [<go|socket fd>]``.

It forks once so the starter can reap it at once (the real shim is re-parented to init),
imports what it needs, then (with ``-``) waits on the go fd for the id of the container to start: a warm
shim costs its starter only the launch itself. Then it supervises the container (see
:mod:`stackfile.runtime.linux.shim`). With ``+`` it is a zygote that forks one shim per
container it is sent.
"""

from __future__ import annotations

import os
import sys


def _read_all(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 256):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()


def main(argv: list[str]) -> None:
    """Entry point; ``argv`` is ``[store_root, container_id or "-" or "+", ready_fd, go_fd?]``."""
    store_root, container_id, ready = argv[0], argv[1], int(argv[2])
    if os.fork():
        os._exit(0)
    from pathlib import Path

    from stackfile.runtime.linux.shim import run_shim
    from stackfile.runtime.linux.state import ContainerDir

    root = Path(store_root)

    def run(cid: str, ready_fd: int) -> None:
        if cid != argv[1]:  # a warm or forked shim: show its container in ps
            from stackfile.runtime.linux._libc import set_process_title

            set_process_title(f"stackfile-shim shim_main {store_root} {cid}")
        try:
            run_shim(ContainerDir(root / "containers" / cid), str(root), str(root / "l"), ready_fd)
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
    if container_id == "-":
        container_id = _read_all(int(argv[3]))
        if not container_id:  # the starter went away without using this shim
            os._exit(0)
    run(container_id, ready)


if __name__ == "__main__":  # python -m stackfile.runtime.linux.shim_main ROOT ID READY_FD
    main(sys.argv[1:])
