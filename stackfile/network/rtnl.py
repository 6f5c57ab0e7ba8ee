"""The few rtnetlink requests of the teardown path, spoken directly over an ``AF_NETLINK`` socket.

``stackfile down`` removes links but creates none: importing pyroute2 for that costs ~120 ms of a
~500 ms command, while a delete request is 36 bytes. Setup keeps using pyroute2 (see ``links``).
"""

from __future__ import annotations

import errno
import os
import socket
import struct

__all__ = ["delete_link", "link_exists"]

RTM_DELLINK = 17
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
IFLA_IFNAME = 3
_NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
_IFINFOMSG = struct.Struct("=BxHiII")  # family, (pad), type, index, flags, change


def link_exists(name: str) -> bool:
    """Whether a link of that name exists in this process's network namespace (sysfs, no netlink)."""
    return os.path.exists(f"/sys/class/net/{name}")


def _attr(kind: int, value: bytes) -> bytes:
    length = 4 + len(value)
    return struct.pack("=HH", length, kind) + value + b"\0" * (-length % 4)


def dellink_message(name: str, seq: int = 1) -> bytes:
    """An ``RTM_DELLINK`` request for the link called ``name`` (looked up by the kernel)."""
    body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + _attr(IFLA_IFNAME, name.encode() + b"\0")
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body


def ack_errno(reply: bytes) -> int:
    """The (positive) errno of a netlink acknowledgement; 0 for success."""
    _, kind, _, _, _ = _NLMSGHDR.unpack_from(reply)
    if kind != NLMSG_ERROR:
        return 0
    (code,) = struct.unpack_from("=i", reply, _NLMSGHDR.size)
    return -code


def delete_link(name: str) -> None:
    """Delete a link if it exists (a veth takes its peer with it)."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE) as s:
        s.sendto(dellink_message(name), (0, 0))
        code = ack_errno(s.recv(65536))
    if code not in (0, errno.ENODEV):
        raise OSError(code, f"deleting link {name}: {os.strerror(code)}")
