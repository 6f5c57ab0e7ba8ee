"""The DNS server loop: UDP and TCP on sockets handed over by the parent.

Names of the stack are answered from the store; everything else is forwarded to the client's
``dns:`` servers or the host's resolvers (not for ``internal`` networks).
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Sequence
from pathlib import Path

from stackfile.network.dns.records import Records
from stackfile.network.dns.wire import NOERROR, REFUSED, SERVFAIL, Question, answer, parse_question
from stackfile.network.lifeline import watch_row

_TASKS: set[asyncio.Future[None]] = set()

__all__ = ["Resolver", "serve"]


class Resolver:
    """Turns one query from one client into one response."""

    def __init__(self, records: Records, upstream: Sequence[str], internal: bool) -> None:
        self.records = records
        self.upstream = list(upstream)
        self.internal = internal

    async def resolve(self, query: bytes, client: str, limit: int = 65535) -> bytes | None:
        q = parse_question(query)
        if q is None:
            return None
        found = self.records.lookup(client, q.name)
        if found is None:
            return answer(query, q, [], REFUSED)
        addresses, client_dns = found
        if addresses:
            return answer(query, q, addresses if q.qtype in (1, 255) else [], NOERROR, limit=limit)
        if self.internal:
            return answer(query, q, [], REFUSED)
        return await self._forward(query, q, client_dns or self.upstream)

    async def _forward(self, query: bytes, q: Question, servers: Sequence[str]) -> bytes:
        loop = asyncio.get_running_loop()
        for server in servers:
            sock = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, (server, 53))
                await loop.sock_sendall(sock, query)
                return await asyncio.wait_for(loop.sock_recv(sock, 65535), timeout=2.0)
            except (OSError, TimeoutError):
                continue
            finally:
                sock.close()
        return answer(query, q, [], SERVFAIL)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        task = asyncio.ensure_future(self._reply(data, addr))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)

    async def _reply(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = await self.resolver.resolve(data, addr[0], limit=512)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


async def _tcp_client(resolver: Resolver, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    client = writer.get_extra_info("peername")[0]
    try:
        while True:
            size = int.from_bytes(await reader.readexactly(2), "big")
            reply = await resolver.resolve(await reader.readexactly(size), client)
            if reply is None:
                break
            writer.write(len(reply).to_bytes(2, "big") + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def serve(db: Path, udp: socket.socket, tcp: socket.socket, upstream: Sequence[str],
                internal: bool, network_id: str = "") -> None:
    """Answer until SIGTERM, or until the network ``network_id`` is gone from the store."""
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, _resolve, stop)
    resolver = Resolver(Records(db), upstream, internal)
    transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(resolver), sock=udp)
    server = await asyncio.start_server(lambda r, w: _tcp_client(resolver, r, w), sock=tcp)
    watcher = asyncio.ensure_future(watch_row(db, "networks", network_id, stop)) if network_id else None
    try:
        await stop
    finally:
        if watcher is not None:
            watcher.cancel()
        transport.close()
        server.close()
        resolver.records.close()
