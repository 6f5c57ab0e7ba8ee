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


def user_names(pid: int) -> dict[str, str]:
    """uid -> user name from the /etc/passwd of ``pid``'s root (the container's), symlinks
    resolved inside that root; empty when it cannot be read."""
    from stackfile.runtime.linux.users import read_etc_file

    text = read_etc_file((f"/proc/{pid}/root",), "passwd")
    names: dict[str, str] = {}
    for line in text.splitlines():
        row = line.split(":")
        if len(row) >= 3 and row[2].isdigit():
            names.setdefault(row[2], row[0])
    return names


def processes(pids: list[int]) -> list[dict[str, str]]:
    """PID, PPID, USER, TIME and CMD of each pid still alive, in pid order; USER is the name the
    container's /etc/passwd gives the uid (the uid when it has none), as ``docker top`` shows."""
    out = []
    names: dict[str, str] | None = None
    for pid in sorted(pids):
        stat = _read(f"/proc/{pid}/stat")
        if not stat:
            continue
        cmd = _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").strip()
        if not cmd:
            cmd = b"[" + stat[stat.find(b"(") + 1: stat.rfind(b")")] + b"]"
        ppid = stat[stat.rfind(b")") + 2:].split()[1].decode()
        if names is None:  # one root for the whole container
            names = user_names(pid)
        uid = _uid(_read(f"/proc/{pid}/status"))
        out.append({"PID": str(pid), "PPID": ppid, "USER": names.get(uid, uid),
                    "TIME": _cpu_time(stat), "CMD": cmd.decode("utf-8", "replace")})
    return out
