"""What this host's kernel offers the runtime, as ``system info`` reports it.

Read from ``/proc`` and ``/sys`` only (nothing is mounted or changed): cgroup version and the
controllers it has, overlayfs, seccomp, openat2 (kernel ≥ 5.6, the version that added it), pidfd.
"""

from __future__ import annotations

import os

from stackfile.runtime.linux.cgroups import CGROUP_ROOT, V1Cgroup, for_container

__all__ = ["host_features"]


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""


def _kernel_at_least(major: int, minor: int) -> bool:
    release = os.uname().release
    parts = [int(p) for p in release.split("-")[0].split(".")[:2] if p.isdigit()]
    return tuple(parts) >= (major, minor) if len(parts) == 2 else False


def host_features(root: str = CGROUP_ROOT) -> dict[str, object]:
    """``cgroup_version`` (1 or 2, 0 when none), ``cgroup_controllers`` (those stackfile can use),
    ``overlay``, ``seccomp``, ``openat2``, ``pidfd`` (bools), ``kernel``."""
    try:
        version = 1 if isinstance(for_container("probe", root), V1Cgroup) else 2
    except Exception:  # Unavailable: no hierarchy at all
        version = 0
    if version == 2:
        controllers = sorted(_read(os.path.join(root, "cgroup.controllers")).split())
    elif version == 1:
        known = ("blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory", "pids")
        controllers = sorted(c for c in known if os.path.isdir(os.path.join(root, c)))
    else:
        controllers = []
    filesystems = {line.split()[-1] for line in _read("/proc/filesystems").splitlines() if line.strip()}
    return {
        "kernel": os.uname().release,
        "cgroup_version": version,
        "cgroup_controllers": controllers,
        "overlay": "overlay" in filesystems,
        "seccomp": "Seccomp:" in _read("/proc/self/status"),
        "openat2": _kernel_at_least(5, 6),
        "pidfd": hasattr(os, "pidfd_open") and _kernel_at_least(5, 3),
    }
