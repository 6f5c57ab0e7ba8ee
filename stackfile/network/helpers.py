"""Detached helper processes (the DNS server, the port proxy): started with sockets the caller
already bound (so conflicts surface in the caller and nothing races on readiness), in their own
session so they survive the CLI, and stopped by pid after checking it is still ours.

Stopping waits on a pidfd (opened before the identity check, so the pid cannot be reused in
between): it returns as soon as the kernel has closed the helper's files — its sockets are free
the moment :func:`stop` returns, without sleeping in a poll loop."""

from __future__ import annotations

import contextlib
import os
import select
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
    while not _cmdline(pid) and _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.0005)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def is_running(pid: int | None, marker: str) -> bool:
    """Whether ``pid`` is alive and its command line contains ``marker`` (guards against reuse)."""
    if not pid or not _alive(pid):
        return False
    _settle(pid, 0.2)
    return marker.encode() in _cmdline(pid)


def stop(pid: int | None, marker: str, timeout: float = 0.0) -> None:
    """SIGTERM and wait up to ``timeout`` (0: the helpers keep no state, so straight to SIGKILL),
    then SIGKILL its process group; returns once it has exited (reaped when it is our child)."""
    if not pid:
        return
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:  # gone already
        _reap(pid)
        return
    try:
        if not is_running(pid, marker):
            _reap(pid)
            return
        if timeout > 0:
            signal.pidfd_send_signal(pidfd, signal.SIGTERM)
            if _exited(pidfd, timeout):
                _reap(pid)
                return
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(pid) == pid:  # our helpers lead their own group: take their children too (nft)
                os.killpg(pid, signal.SIGKILL)
            else:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        _exited(pidfd, 5.0)
        _reap(pid)
    finally:
        os.close(pidfd)


def _exited(pidfd: int, seconds: float) -> bool:
    """Wait until the process behind ``pidfd`` has exited (its files are closed by then)."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(int(seconds * 1000)))


def _reap(pid: int | None) -> None:
    if not pid:
        return
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
