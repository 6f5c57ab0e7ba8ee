"""The userland port proxy: relays TCP connections and UDP datagrams from host sockets (bound by
the caller) to the container's address. It serves loopback (127.0.0.1 without turning on
``route_localnet`` host-wide) and clients in other containers; clients from other hosts are
DNAT-ed past it (:func:`stackfile.network.firewall.install_ports`). Its cost (bench/network.py) is
a fraction of a millisecond per new connection."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from stackfile.network.lifeline import watch_row

_TASKS: set[asyncio.Future[None]] = set()

__all__ = ["Forward", "serve"]

UDP_IDLE_SECONDS = 30.0


@dataclass(frozen=True)
class Forward:
    """One bound host socket and where its traffic goes."""

    sock: socket.socket
    protocol: str  # tcp | udp
    target: tuple[str, int]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def _tcp(target: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        up_reader, up_writer = await asyncio.open_connection(*target)
    except OSError:
        writer.close()
        return
    try:
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
    finally:
        writer.close()
        up_writer.close()


class _UdpUpstream(asyncio.DatagramProtocol):
    def __init__(self, front: _UdpFront, client: tuple[str, int]) -> None:
        self.front, self.client = front, client
        self.transport: asyncio.DatagramTransport | None = None
        self.last = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.front.transport is not None:
            self.front.transport.sendto(data, self.client)


class _UdpFront(asyncio.DatagramProtocol):
    """One upstream socket per client address, closed after ``UDP_IDLE_SECONDS`` of silence."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.transport: asyncio.DatagramTransport | None = None
        self.flows: dict[tuple[str, int], _UdpUpstream] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        task = asyncio.ensure_future(self._send(data, addr))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)

    async def _send(self, data: bytes, addr: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        flow = self.flows.get(addr)
        if flow is None:
            _, flow = await loop.create_datagram_endpoint(lambda: _UdpUpstream(self, addr),
                                                          remote_addr=self.target)
            self.flows[addr] = flow
            loop.call_later(UDP_IDLE_SECONDS, self._expire, addr)
        flow.last = loop.time()
        if flow.transport is not None:
            flow.transport.sendto(data)

    def _expire(self, addr: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        flow = self.flows.get(addr)
        if flow is None:
            return
        idle = loop.time() - flow.last
        if idle < UDP_IDLE_SECONDS:
            loop.call_later(UDP_IDLE_SECONDS - idle, self._expire, addr)
            return
        del self.flows[addr]
        if flow.transport is not None:
            flow.transport.close()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def serve(forwards: Sequence[Forward], db: Path | None = None, sandbox_id: str = "") -> None:
    """Relay until SIGTERM, or until the sandbox is gone from the store ``db``."""
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, _resolve, stop)
    closers = []
    for fw in forwards:
        if fw.protocol == "udp":
            transport, _ = await loop.create_datagram_endpoint(partial(_UdpFront, fw.target), sock=fw.sock)
            closers.append(transport.close)
        else:
            server = await asyncio.start_server(partial(_tcp, fw.target), sock=fw.sock, limit=65536)
            closers.append(server.close)
    watcher = asyncio.ensure_future(watch_row(db, "sandboxes", sandbox_id, stop)) if db else None
    try:
        await stop
    finally:
        if watcher is not None:
            watcher.cancel()
        for close in closers:
            with contextlib.suppress(Exception):
                close()
