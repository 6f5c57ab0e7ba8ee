"""Published ports: bind the host sockets up front, so a port in use is a ``Conflict`` before
anything else is made, and hand them to the proxy process."""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence

from stackfile.errors import Conflict, InvalidSpec, Location
from stackfile.network.model import BoundPort, PortBinding

__all__ = ["bind_all", "port_range"]


def _where(who: str) -> Location:
    return Location(key_path=f"services.{who}.ports" if who else "ports")


def port_range(binding: PortBinding, who: str = "") -> tuple[int, int]:
    """``(first, last)`` host ports to try; ``(0, 0)`` lets the kernel choose."""
    text = (binding.host_port or "").strip()
    if not text:
        return 0, 0
    first, _, last = text.partition("-")
    try:
        lo, hi = int(first), int(last or first)
    except ValueError:
        lo, hi = -1, -1
    if not (0 < lo <= hi <= 65535):
        raise InvalidSpec(f"invalid published port {text!r}", location=_where(who),
                          hint="a port 1-65535, a range like 8000-8010, or empty for a random port")
    return lo, hi


def _open(ip: str, port: int, proto: str) -> socket.socket:
    """A bound (and, for TCP, listening) socket; IPv6 sockets never take the IPv4 port too."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if proto == "tcp":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, port))
        if proto == "tcp":
            sock.listen(256)
    except BaseException:
        sock.close()
        raise
    return sock


def _bind_one(binding: PortBinding, who: str) -> list[tuple[socket.socket, BoundPort]]:
    proto = binding.protocol.lower()
    if proto not in ("tcp", "udp"):
        raise InvalidSpec(f"unsupported protocol {binding.protocol!r} for port {binding.container_port}",
                          location=_where(who), hint="tcp or udp")
    ip = binding.host_ip.strip("[]") if binding.host_ip else "0.0.0.0"
    lo, hi = port_range(binding, who)
    for port in range(lo, hi + 1):
        try:
            sock = _open(ip, port, proto)
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise InvalidSpec(f"host_ip {ip} is not an address of this host",
                                  location=_where(who)) from None
            if exc.errno in (errno.EADDRINUSE, errno.EACCES) and port < hi:
                continue
            shown = f"{lo}-{hi}" if hi > lo else str(port)
            raise Conflict(f"port {ip}:{shown}/{proto} is already in use on the host"
                           + (f" (service {who!r})" if who else ""), location=_where(who),
                           hint="stop what listens there or publish another host port") from None
        real = sock.getsockname()[1]
        out = [(sock, BoundPort(binding.host_ip, real, binding.container_port, proto))]
        if not binding.host_ip:  # like Docker: the same port on IPv6 too, where the host has it
            try:
                out.append((_open("::", real, proto), BoundPort("::", real, binding.container_port, proto)))
            except OSError:
                pass
        return out
    raise AssertionError("unreachable")


def bind_all(bindings: Sequence[PortBinding], who: str = "") -> list[tuple[socket.socket, BoundPort]]:
    """Bind every binding's host socket, or none (the already bound are closed on error)."""
    done: list[tuple[socket.socket, BoundPort]] = []
    try:
        for b in bindings:
            done.extend(_bind_one(b, who))
    except BaseException:
        for sock, _ in done:
            sock.close()
        raise
    return done
