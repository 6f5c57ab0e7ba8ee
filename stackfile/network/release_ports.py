"""``python -m stackfile.network.release_ports --root ROOT NAME``: free the published host ports of a
container that exited by itself (its supervisor starts this, see ``ContainerSpec.on_exit``).

Docker frees a container's ports when it dies; without this, the port proxy of a crashed service
would hold its host port until the next ``start``, ``rm`` or ``down``. The ports stay recorded, and
a start binds them again. A container that runs again by the time this looks is left alone.
"""

from __future__ import annotations

import sys

from stackfile.errors import StackfileError


def main(argv: list[str]) -> int:
    """``--root ROOT NAME``; exit 0 (nothing to do is not an error), 2 on bad arguments."""
    if len(argv) != 3 or argv[0] != "--root":
        sys.stderr.write("usage: python -m stackfile.network.release_ports --root ROOT NAME\n")
        return 2
    from stackfile.network.manager import NetworkManager
    from stackfile.runtime import get_runtime  # type: ignore[attr-defined,unused-ignore]
    from stackfile.store.paths import StorePaths

    paths, name = StorePaths.at(argv[1]), argv[2]
    try:
        if get_runtime(paths).inspect(name).state.value in ("running", "paused", "restarting"):
            return 0  # started again meanwhile: its ports are in use
        NetworkManager(paths).suspend_ports(name)
    except StackfileError:  # removed meanwhile, or no sandbox: nothing holds its ports
        return 0
    return 0


def command(root: str, name: str) -> tuple[str, ...]:
    """The argv that runs :func:`main` for container ``name`` of store ``root``, importable however
    stackfile was installed (the package's parent directory goes first on ``sys.path``)."""
    import os

    here = os.path.abspath(__file__)  # <parent>/stackfile/network/release_ports.py
    parent = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    boot = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from stackfile.network.release_ports import main; raise SystemExit(main(sys.argv[2:]))")
    return (sys.executable, "-c", boot, parent, "--root", root, name)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
