"""Linux capabilities by name, Docker's default set, and the sets a container process gets."""

from __future__ import annotations

import functools

from stackfile.errors import InvalidSpec
from stackfile.record import Record

__all__ = ["CAPS", "DEFAULT_CAPS", "CapSets", "cap_sets", "last_cap", "parse_caps"]

CAPS: dict[str, int] = {name: i for i, name in enumerate((
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
))}

# moby/oci/caps/defaults.go
DEFAULT_CAPS = frozenset({
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
    "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
})


@functools.cache
def last_cap() -> int:
    """The highest capability number this kernel knows; 63 (every possible one) if unreadable.
    Cached: the supervisor reads it while planning, before PID 1 forks."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as fh:
            return int(fh.read())
    except (OSError, ValueError):
        return 63


def parse_caps(names: tuple[str, ...], flag: str) -> set[str]:
    """Normalise ``cap_add``/``cap_drop`` names (``net_admin``, ``CAP_NET_ADMIN``, ``ALL``)."""
    out: set[str] = set()
    for raw in names:
        name = raw.strip().upper().removeprefix("CAP_")
        if name == "ALL":
            out |= set(CAPS)
        elif name in CAPS:
            out.add(name)
        else:
            raise InvalidSpec(f"unknown capability {raw!r} in {flag}",
                              hint="use a name like NET_ADMIN or CAP_SYS_PTRACE, or ALL")
    return out


class CapSets(Record):
    """Masks for the process: bounding set, and the effective/permitted/inheritable/ambient sets."""

    bounding: int
    effective: int
    permitted: int
    inheritable: int
    ambient: int


def _mask(names: set[str]) -> int:
    last = last_cap()
    return sum(1 << CAPS[n] for n in names if CAPS[n] <= last)


def cap_sets(cap_add: tuple[str, ...], cap_drop: tuple[str, ...], *, privileged: bool,
             root: bool) -> CapSets:
    """The container's sets: Docker's defaults + add - drop (``ALL`` works in both).

    Root gets the set as bounding/effective/permitted; a non-root user gets only the explicitly
    added capabilities as permitted/effective/ambient (like Docker 23+ and Podman), so plain
    ``--user 1000`` has an empty effective set.
    """
    if privileged:
        full = _mask(set(CAPS))
        return CapSets(full, full, full, 0, 0 if root else full)
    added = parse_caps(cap_add, "cap_add")
    dropped = parse_caps(cap_drop, "cap_drop")
    base = set(CAPS) if "ALL" in {c.upper() for c in cap_add} else set(DEFAULT_CAPS)
    names = (base | added) - dropped if "ALL" not in {c.upper() for c in cap_drop} else added - (
        dropped - added)
    bounding = _mask(names)
    if root:
        return CapSets(bounding, bounding, bounding, 0, 0)
    extra = _mask(added & names)
    return CapSets(bounding, extra, extra, extra, extra)
