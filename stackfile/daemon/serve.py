"""Run the daemon: take the store root's daemon lock, bind every ``-H`` listener, serve until
SIGTERM/SIGINT, then stop accepting, finish what is in flight and remove the socket files.

Containers do not depend on the daemon (each has its own shim), so a daemon that dies, even by
``kill -9``, loses nothing: a new one re-reads the store and serves the same containers.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import ssl
from collections.abc import Callable

from aiohttp import web

from stackfile.daemon.app import State, make_app
from stackfile.daemon.listen import Endpoint, TlsFiles, bind, check_tls, server_tls
from stackfile.errors import Conflict
from stackfile.store.paths import StorePaths

__all__ = ["hold_lock", "serve"]



def hold_lock(paths: StorePaths) -> int:
    """An open descriptor holding ``<root>/daemon.lock`` exclusively (a second daemon is refused)."""
    os.makedirs(paths.root_str, exist_ok=True)
    fd = os.open(os.path.join(paths.root_str, "daemon.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Conflict(f"another stackfile daemon serves the store root {paths.root_str}",
                       hint="stop it first, or give this one another --root") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


async def _serve(paths: StorePaths, endpoints: list[Endpoint], tls: ssl.SSLContext | None, group: str | None,
                 ready: Callable[[str], None]) -> None:
    app = make_app(State(paths))
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=10.0)
    await runner.setup()
    sockets = [(ep, bind(ep, group)) for ep in endpoints]
    try:
        for ep, sock in sockets:
            site = web.SockSite(runner, sock, ssl_context=tls if ep.kind == "tcp" else None)
            await site.start()
            ready(f"listening on {ep}{' (mutual TLS)' if ep.kind == 'tcp' and tls else ''}")
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopped.set)
        await stopped.wait()
        ready("stopping")
    finally:
        await runner.cleanup()
        for ep, sock in sockets:
            sock.close()
            if ep.kind == "unix":
                try:
                    os.unlink(ep.path)
                except FileNotFoundError:
                    pass


def serve(root: str, endpoints: list[Endpoint], *, tls: TlsFiles | None = None, group: str | None = None,
          say: Callable[[str], None] = lambda _msg: None) -> None:
    """Serve the engine API on ``endpoints`` until SIGTERM; ``say`` gets the daemon's messages."""
    for warning in check_tls(endpoints, tls):
        say(f"warning: {warning}")
    context = server_tls(tls) if tls is not None else None
    paths = StorePaths.at(root)
    fd = hold_lock(paths)
    try:
        asyncio.run(_serve(paths, endpoints, context, group, say))
    finally:
        os.close(fd)
