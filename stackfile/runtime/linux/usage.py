"""What a running container uses, read from its cgroup (v1 or v2) and its network namespace.

The figures are the ones ``docker stats`` shows and are read as Docker reads them:

- CPU: the cgroup's total CPU time (v1 ``cpuacct.usage``, v2 ``cpu.stat`` ``usage_usec``) against the
  host's (``/proc/stat``), both in ns, so two samples give Docker's CPU %.
- Memory: usage minus the inactive page cache (v1 ``memory.usage_in_bytes`` - ``total_inactive_file``,
  v2 ``memory.current`` - ``inactive_file``), against the limit (the host's memory when unlimited).
- Block I/O: bytes read and written (v1 ``blkio.throttle.io_service_bytes``, v2 ``io.stat``).
- PIDs: tasks in the cgroup (``pids.current``, or the count of its ``tasks``/``cgroup.threads``).
- Network: the container's namespace's interfaces but ``lo`` (``/proc/<pid 1>/net/dev``); none
  for a container on the host's network.

Where the hierarchy lacks a controller (v1 without a cpuacct or blkio cgroup for an unlimited
container, a v2 tree whose controllers are bound to v1) the figure comes from the container's
processes instead: their CPU times and I/O bytes (``/proc/<pid>/stat``, ``/proc/<pid>/io``, the
children they reaped included) and resident memory. ``root`` is a parameter so the v2 reading can
be tested on a unified mount that is not at ``/sys/fs/cgroup``.
"""

from __future__ import annotations

import os

from stackfile.runtime.api import Usage
from stackfile.runtime.linux.cgroups import Cgroup, V1Cgroup

__all__ = ["read_usage"]

_HZ = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_UNLIMITED = 1 << 62


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def _keyed(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out


def _host() -> tuple[int, int, int]:
    """The host's CPU time in ns over all CPUs, its online CPU count and its memory in bytes."""
    system, cpus = 0, 0
    for line in _read("/proc/stat").splitlines():
        if line.startswith("cpu "):
            system = sum(int(v) for v in line.split()[1:8]) * 1_000_000_000 // _HZ
        elif line.startswith("cpu"):
            cpus += 1
    mem = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) * 1024
            break
    return system, max(1, cpus), mem


def _proc_cpu_ns(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        stat = _read(f"/proc/{pid}/stat")
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 14:
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total * 1_000_000_000 // _HZ


def _proc_io(pids: list[int]) -> tuple[int, int]:
    read = write = 0
    for pid in pids:
        io = _keyed(_read(f"/proc/{pid}/io").replace(":", ""))
        read += io.get("read_bytes", 0)
        write += io.get("write_bytes", 0)
    return read, write


def _proc_rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        fields = _read(f"/proc/{pid}/statm").split()
        if len(fields) > 1:
            total += int(fields[1]) * _PAGE
    return total


def _net(pid: int | None) -> tuple[int, int]:
    """Bytes received and sent by the interfaces (but ``lo``) of ``pid``'s network namespace."""
    rx = tx = 0
    if not pid:
        return 0, 0
    for line in _read(f"/proc/{pid}/net/dev").splitlines()[2:]:
        name, _, counters = line.partition(":")
        values = counters.split()
        if name.strip() != "lo" and len(values) > 8:
            rx += int(values[0])
            tx += int(values[8])
    return rx, tx


def _v1(cg: V1Cgroup, pids: list[int]) -> tuple[int, int, int, int, int, int]:
    def f(controller: str, name: str) -> str:
        return _read(os.path.join(cg.root, controller, "stackfile", cg.id, name))

    cpu = _int(f("cpuacct", "cpuacct.usage"))
    usage = _int(f("memory", "memory.usage_in_bytes"))
    inactive = _keyed(f("memory", "memory.stat")).get("total_inactive_file", 0)
    limit = _int(f("memory", "memory.limit_in_bytes")) or _UNLIMITED
    blk = f("blkio", "blkio.throttle.io_service_bytes")
    if blk:
        rows = [p for p in (ln.split() for ln in blk.splitlines()) if len(p) == 3]
        read = sum(int(p[2]) for p in rows if p[1] == "Read")
        write = sum(int(p[2]) for p in rows if p[1] == "Write")
    else:
        read, write = _proc_io(pids)
    count = _int(f("pids", "pids.current"))
    if count is None:
        count = len(f("memory", "tasks").split())
    memory = max(0, usage - inactive) if usage is not None else _proc_rss(pids)
    return (cpu if cpu is not None else _proc_cpu_ns(pids)), memory, limit, read, write, count


def _v2(cg: Cgroup, pids: list[int]) -> tuple[int, int, int, int, int, int]:
    d = cg.dirs()[0]

    def f(name: str) -> str:
        return _read(os.path.join(d, name))

    usec = _keyed(f("cpu.stat")).get("usage_usec")
    usage = _int(f("memory.current"))
    inactive = _keyed(f("memory.stat")).get("inactive_file", 0)
    limit = _int(f("memory.max")) or _UNLIMITED
    io = f("io.stat")
    if io:
        read = write = 0
        for line in io.splitlines():
            for item in line.split()[1:]:
                key, _, value = item.partition("=")
                if key == "rbytes":
                    read += int(value)
                elif key == "wbytes":
                    write += int(value)
    else:
        read, write = _proc_io(pids)
    count = _int(f("pids.current"))
    if count is None:
        count = len(f("cgroup.threads").split())
    memory = max(0, usage - inactive) if usage is not None else _proc_rss(pids)
    return (usec * 1000 if usec is not None else _proc_cpu_ns(pids)), memory, limit, read, write, count


def read_usage(cg: Cgroup, pid1: int | None, *, host_network: bool = False) -> Usage:
    """A sample of the container whose cgroup is ``cg`` and whose PID 1 is ``pid1``."""
    pids = cg.pids()
    cpu, memory, limit, read, write, count = _v1(cg, pids) if isinstance(cg, V1Cgroup) else _v2(cg, pids)
    system, cpus, host_memory = _host()
    rx, tx = (0, 0) if host_network else _net(pid1)
    return Usage(cpu_ns=cpu, system_ns=system, online_cpus=cpus, memory=memory,
                 memory_limit=min(limit, host_memory) if host_memory else limit, block_read=read,
                 block_write=write, pids=count, net_rx=rx, net_tx=tx)
