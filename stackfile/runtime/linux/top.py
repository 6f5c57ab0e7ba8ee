"""``top``: the processes of a container, read from /proc by host pid."""

from __future__ import annotations

import os

__all__ = ["processes"]


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _cpu_time(stat: bytes) -> str:
    fields = stat[stat.rfind(b")") + 2:].split()
    if len(fields) < 13:
        return "00:00:00"
    seconds = (int(fields[11]) + int(fields[12])) // os.sysconf("SC_CLK_TCK")
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _uid(status: bytes) -> str:
    for line in status.splitlines():
        if line.startswith(b"Uid:"):
            return line.split()[1].decode()
    return "?"


def processes(pids: list[int]) -> list[dict[str, str]]:
    """PID, PPID, USER (uid), TIME and CMD of each pid still alive, in pid order."""
    out = []
    for pid in sorted(pids):
        stat = _read(f"/proc/{pid}/stat")
        if not stat:
            continue
        cmd = _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").strip()
        if not cmd:
            cmd = b"[" + stat[stat.find(b"(") + 1: stat.rfind(b")")] + b"]"
        ppid = stat[stat.rfind(b")") + 2:].split()[1].decode()
        out.append({"PID": str(pid), "PPID": ppid, "USER": _uid(_read(f"/proc/{pid}/status")),
                    "TIME": _cpu_time(stat), "CMD": cmd.decode("utf-8", "replace")})
    return out
