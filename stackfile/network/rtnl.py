"""The rtnetlink requests stackfile needs, spoken directly over an ``AF_NETLINK`` socket.

Setting up a network takes a handful of requests: make a bridge, make a veth pair whose peer is born
inside a namespace, add an address, bring a link up, add a default route, delete a link, and dump
addresses and routes once to pick a free subnet. Each is a few dozen bytes. pyroute2 can send them
all, but importing it costs ~110 ms — more than a third of the budget of a 5-service ``up`` — so the
runtime path speaks netlink itself (this module, ~200 lines) and pyroute2 stays in the test suite as
an independent reader of what was made.

A :class:`Netlink` socket belongs to the network namespace of the thread that opened it, which is how
configuration inside a sandbox works (see ``netns.in_netns``).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator

__all__ = ["Netlink", "delete_link", "link_exists"]

# message types
RTM_NEWLINK, RTM_DELLINK = 16, 17
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
NLMSG_ERROR, NLMSG_DONE = 2, 3
# flags
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_DUMP = 0x300
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
# link attributes
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_FD = 1, 3, 10, 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFF_UP = 0x1
# address and route attributes
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_GATEWAY = 1, 5
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1

_NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
_IFINFOMSG = struct.Struct("=BxHiII")  # family, (pad), type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBi")  # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
_RTATTR = struct.Struct("=HH")  # length, type


def link_exists(name: str) -> bool:
    """Whether a link of that name exists in this process's network namespace (sysfs, no netlink)."""
    return os.path.exists(f"/sys/class/net/{name}")


def attr(kind: int, value: bytes) -> bytes:
    """One netlink attribute, padded to 4 bytes."""
    length = _RTATTR.size + len(value)
    return _RTATTR.pack(length, kind) + value + b"\0" * (-length % 4)


def _name(value: str) -> bytes:
    return value.encode() + b"\0"


def _mac(value: str) -> bytes:
    return bytes(int(part, 16) for part in value.split(":"))


def _ifinfo(index: int = 0, up: bool = False) -> bytes:
    return _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP if up else 0)


def parse_attrs(data: bytes, offset: int) -> dict[int, bytes]:
    """The attributes from ``offset`` to the end of ``data`` (last one wins per type)."""
    out: dict[int, bytes] = {}
    while offset + _RTATTR.size <= len(data):
        length, kind = _RTATTR.unpack_from(data, offset)
        if length < _RTATTR.size:
            break
        out[kind & 0x3FFF] = data[offset + _RTATTR.size:offset + length]
        offset += (length + 3) & ~3
    return out


def dellink_message(name: str, seq: int = 1) -> bytes:
    """An ``RTM_DELLINK`` request for the link called ``name`` (looked up by the kernel)."""
    body = _ifinfo() + attr(IFLA_IFNAME, _name(name))
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body


def ack_errno(reply: bytes) -> int:
    """The (positive) errno of a netlink acknowledgement; 0 for success."""
    _, kind, _, _, _ = _NLMSGHDR.unpack_from(reply)
    if kind != NLMSG_ERROR:
        return 0
    (code,) = struct.unpack_from("=i", reply, _NLMSGHDR.size)
    return -code


class Netlink:
    """An rtnetlink socket in the calling thread's network namespace; a context manager."""

    def __init__(self) -> None:
        kind = socket.SOCK_RAW | socket.SOCK_CLOEXEC
        self.sock = socket.socket(socket.AF_NETLINK, kind, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def _send(self, kind: int, flags: int, body: bytes) -> int:
        self.seq += 1
        header = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, NLM_F_REQUEST | flags, self.seq, 0)
        self.sock.send(header + body)
        return self.seq

    def request(self, kind: int, body: bytes, flags: int = 0, what: str = "") -> None:
        """Send one request and wait for its acknowledgement; a kernel error raises ``OSError``."""
        seq = self._send(kind, NLM_F_ACK | flags, body)
        while True:
            reply = self.sock.recv(65536)
            offset = 0
            while offset + _NLMSGHDR.size <= len(reply):
                length, rtype, _, rseq, _ = _NLMSGHDR.unpack_from(reply, offset)
                if rseq == seq and rtype == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", reply, offset + _NLMSGHDR.size)
                    if code:
                        raise OSError(-code, f"{what or 'netlink request'}: {os.strerror(-code)}")
                    return
                offset += (length + 3) & ~3 if length else len(reply)

    def dump(self, kind: int, body: bytes) -> Iterator[tuple[int, bytes]]:
        """Every (message type, payload) of a dump request."""
        seq = self._send(kind, NLM_F_DUMP, body)
        while True:
            reply = self.sock.recv(1 << 16)
            offset = 0
            while offset + _NLMSGHDR.size <= len(reply):
                length, rtype, _, rseq, _ = _NLMSGHDR.unpack_from(reply, offset)
                payload = reply[offset + _NLMSGHDR.size:offset + length]
                offset += (length + 3) & ~3 if length else len(reply)
                if rseq != seq:
                    continue
                if rtype == NLMSG_DONE:
                    return
                if rtype == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", payload)
                    raise OSError(-code, f"netlink dump: {os.strerror(-code)}")
                yield rtype, payload

    # -- links -----------------------------------------------------------------------------

    def add_bridge(self, name: str, mac: str) -> None:
        """A new bridge with a fixed MAC (EEXIST if it exists)."""
        info = attr(IFLA_INFO_KIND, b"bridge")
        body = (_ifinfo() + attr(IFLA_IFNAME, _name(name)) + attr(IFLA_ADDRESS, _mac(mac))
                + attr(IFLA_LINKINFO, info))
        self.request(RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL, f"creating bridge {name}")

    def add_veth(self, name: str, peer: str, peer_netns_fd: int, master: int, peer_mac: str | None) -> None:
        """A veth pair, up and enslaved to ``master`` on this side, its peer born in another namespace."""
        peer_attrs = attr(IFLA_IFNAME, _name(peer)) + attr(IFLA_NET_NS_FD, struct.pack("=I", peer_netns_fd))
        if peer_mac:
            peer_attrs += attr(IFLA_ADDRESS, _mac(peer_mac))
        data = attr(VETH_INFO_PEER, _ifinfo() + peer_attrs)
        info = attr(IFLA_INFO_KIND, b"veth") + attr(IFLA_INFO_DATA, data)
        body = (_ifinfo(up=True) + attr(IFLA_IFNAME, _name(name))
                + attr(IFLA_MASTER, struct.pack("=I", master)) + attr(IFLA_LINKINFO, info))
        self.request(RTM_NEWLINK, body, NLM_F_CREATE | NLM_F_EXCL, f"creating veth {name}")

    def set_master(self, index: int, master: int) -> None:
        """Enslave a link to ``master`` (a bridge) and bring it up."""
        body = _ifinfo(index, up=True) + attr(IFLA_MASTER, struct.pack("=I", master))
        self.request(RTM_NEWLINK, body, what=f"attaching link {index} to {master}")

    def set_up(self, index: int) -> None:
        """Bring a link up."""
        self.request(RTM_NEWLINK, _ifinfo(index, up=True), what=f"bringing link {index} up")

    def delete(self, name: str) -> None:
        """Delete a link if it exists (a veth takes its peer with it)."""
        try:
            body = _ifinfo() + attr(IFLA_IFNAME, _name(name))
            self.request(RTM_DELLINK, body, what=f"deleting link {name}")
        except OSError as exc:
            if exc.errno != errno.ENODEV:
                raise

    # -- addresses and routes --------------------------------------------------------------

    def add_address(self, index: int, address: str, prefixlen: int, exist_ok: bool = False) -> None:
        """An IPv4 address on a link."""
        packed = socket.inet_aton(address)
        body = (_IFADDRMSG.pack(socket.AF_INET, prefixlen, 0, 0, index) + attr(IFA_LOCAL, packed)
                + attr(IFA_ADDRESS, packed))
        try:
            self.request(RTM_NEWADDR, body, NLM_F_CREATE | NLM_F_EXCL, f"adding {address}/{prefixlen}")
        except OSError as exc:
            if not (exist_ok and exc.errno == errno.EEXIST):
                raise

    def add_default_route(self, gateway: str) -> None:
        """The IPv4 default route through ``gateway`` in the main table."""
        head = _RTMSG.pack(socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE,
                           RTN_UNICAST, 0)
        body = head + attr(RTA_GATEWAY, socket.inet_aton(gateway))
        self.request(RTM_NEWROUTE, body, NLM_F_CREATE | NLM_F_EXCL, f"adding default route via {gateway}")

    def ipv4_addresses(self) -> list[tuple[str, int]]:
        """(address, prefixlen) of every IPv4 address in the namespace."""
        out = []
        for _, payload in self.dump(RTM_GETADDR, _IFADDRMSG.pack(socket.AF_INET, 0, 0, 0, 0)):
            _, prefixlen, _, _, _ = _IFADDRMSG.unpack_from(payload)
            attrs = parse_attrs(payload, _IFADDRMSG.size)
            raw = attrs.get(IFA_ADDRESS) or attrs.get(IFA_LOCAL)
            if raw and len(raw) == 4:
                out.append((socket.inet_ntoa(raw), prefixlen))
        return out

    def ipv4_routes(self, table: int = RT_TABLE_MAIN) -> list[tuple[str, int]]:
        """(destination, prefix length) of the IPv4 routes of ``table`` that have a destination."""
        out = []
        for _, payload in self.dump(RTM_GETROUTE, _RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)):
            dst_len, rtable = payload[1], payload[4]
            attrs = parse_attrs(payload, _RTMSG.size)
            rtable = struct.unpack("=I", attrs[15])[0] if 15 in attrs else rtable  # RTA_TABLE
            dst = attrs.get(RTA_DST)
            if rtable == table and dst and len(dst) == 4:
                out.append((socket.inet_ntoa(dst), dst_len))
        return out


def delete_link(name: str) -> None:
    """Delete a link if it exists (a veth takes its peer with it)."""
    with Netlink() as nl:
        nl.delete(name)
