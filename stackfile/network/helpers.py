"""Detached helper processes (the DNS server, the port proxy): started with sockets the caller
already bound (so conflicts surface in the caller and nothing races on readiness), in their own
session so they survive the CLI, and stopped by pid after checking it is still ours."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["is_running", "spawn", "stop"]


def spawn(module: str, args: Sequence[str], socks: Sequence[socket.socket], log: Path) -> int:
    """Run ``python -m module args`` detached, inheriting ``socks``; returns its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    fds = [s.fileno() for s in socks]
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            pass_fds=fds, start_new_session=True, close_fds=True, cwd="/",
        )
    _settle(proc.pid)
    return proc.pid


def _settle(pid: int, seconds: float = 1.0) -> None:
    """Wait until the new process shows its command line: right after exec it reads empty for a
    moment, and :func:`is_running` must recognise the process from the start."""
    deadline = time.monotonic() + seconds
    while not _cmdline(pid) and time.monotonic() < deadline:
        time.sleep(0.0005)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def is_running(pid: int | None, marker: str) -> bool:
    """Whether ``pid`` is alive and its command line contains ``marker`` (guards against reuse)."""
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state in ("Z", "X"):
        return False
    _settle(pid, 0.2)
    return marker.encode() in _cmdline(pid)


def stop(pid: int | None, marker: str, timeout: float = 0.0) -> None:
    """SIGTERM and wait up to ``timeout`` (0: the helpers keep no state, so straight to SIGKILL),
    then SIGKILL; waits until it is gone and reaps it when it is our child."""
    if not is_running(pid, marker):
        _reap(pid)
        return
    assert pid is not None
    if timeout > 0:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(pid)
            if not is_running(pid, marker):
                return
            time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(pid) == pid:  # our helpers lead their own group: take their children too (nft)
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    for _ in range(400):
        _reap(pid)
        if not is_running(pid, marker):
            return
        time.sleep(0.002)


def _reap(pid: int | None) -> None:
    if not pid:
        return
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
