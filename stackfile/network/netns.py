"""Network namespace files: created first (the CNI order), bind-mounted under ``StorePaths.netns``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from stackfile.errors import Internal

__all__ = ["create_netns", "remove_netns"]


def create_netns(path: Path) -> None:
    """A new, empty network namespace kept alive by a bind mount at ``path``.

    ``unshare --net=FILE`` (util-linux) does unshare + bind mount in ~2.5 ms, faster than
    pyroute2's forking ``netns.create`` and without ctypes in this package.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=False)
    proc = subprocess.run(["unshare", f"--net={path}", "true"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        path.unlink(missing_ok=True)
        raise Internal(f"could not create network namespace {path}: {proc.stderr.strip()}")


def remove_netns(path: Path) -> None:
    """Detach the bind mount and delete the file (missing is fine)."""
    if not path.exists():
        return
    if _is_mounted(path):
        from pyroute2 import netns

        netns.remove(str(path))  # umount2(MNT_DETACH) + unlink
    path.unlink(missing_ok=True)


def _is_mounted(path: Path) -> bool:
    target = os.fsencode(str(path))
    with open("/proc/self/mountinfo", "rb") as fh:
        return any(line.split()[4] == target for line in fh)
