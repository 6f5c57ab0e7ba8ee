"""Which process made a piece of scratch work, so that what a killed process left can be told from
what a live one is still making: a token ``<pid>.<start time>`` (the start time guards against pid
reuse) put in the names of scratch directories, ingest files and build containers' labels."""

from __future__ import annotations

import os
import re

__all__ = ["alive", "owner_of", "token"]

_TOKEN = re.compile(r"(?:^|-)(\d+)\.(\d+)-")
_mine: str | None = None


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19].decode() if len(fields) > 19 and fields[0] != b"Z" else None


def token() -> str:
    """This process's token."""
    global _mine
    if _mine is None or not _mine.startswith(f"{os.getpid()}."):
        _mine = f"{os.getpid()}.{_start_time(os.getpid()) or 0}"
    return _mine


def alive(tok: str) -> bool:
    """Whether the process of ``tok`` still runs (a malformed token counts as gone)."""
    pid, _, start = tok.partition(".")
    return pid.isdigit() and start.isdigit() and _start_time(int(pid)) == start


def owner_of(name: str) -> str | None:
    """The token in a scratch name like ``copy-123.456-xyz`` (None for names without one)."""
    found = _TOKEN.search(name)
    return f"{found.group(1)}.{found.group(2)}" if found else None
