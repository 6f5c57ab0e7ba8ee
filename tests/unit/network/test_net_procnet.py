"""Reading bound sockets out of /proc/net tables (the subnet choice avoids gateways whose :53 is taken)."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address
from pathlib import Path

from stackfile.network.procnet import bound_addresses, parse_bound

IP_FREEBIND = 15  # <linux/in.h>; not exported by the socket module

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100590A:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 00000000:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1
   3: 0101590A:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1
"""
TCP6 = """\
  sl  local_address                         remote_address                        st
   0: 0000000000000000FFFF00000102590A:0035 00000000000000000000000000000000:0000 0A
   1: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 0A
"""


def test_parse_keeps_specific_addresses_on_the_port() -> None:
    little = socket.htonl(1) != 1  # /proc prints the raw 32-bit words in host order
    if little:
        assert parse_bound(TCP, 53) == {IPv4Address("10.89.0.1")}
        assert parse_bound(TCP, 80) == {IPv4Address("10.89.1.1")}
        assert parse_bound(TCP6, 53) == {IPv4Address("10.89.2.1")}  # v4-mapped; ::1 is loopback
    assert parse_bound("header only\n", 53) == set()


def test_bound_addresses_sees_live_sockets(tmp_path: Path) -> None:
    """A socket bound to an address no interface holds (IP_FREEBIND: a server outliving its
    bridge) is seen, in the IPv4 and the v4-mapped IPv6 tables; loopback is left out."""
    v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    lo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        v4.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        v4.bind(("10.89.254.77", 0))
        port = v4.getsockname()[1]
        v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        v6.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        v6.bind(("::ffff:10.89.254.78", port))
        v6.listen()  # /proc lists TCP sockets once they listen
        lo.bind(("127.0.0.1", port))
        found = bound_addresses(port)
        assert {IPv4Address("10.89.254.77"), IPv4Address("10.89.254.78")} <= found
        assert IPv4Address("127.0.0.1") not in found
    finally:
        for s in (v4, v6, lo):
            s.close()
    assert bound_addresses(53, [tmp_path / "missing"]) == set()
