"""Link, address and route operations for bridges and sandboxes, over raw rtnetlink (``rtnl``).

Host-side requests go through one netlink socket per thread; configuration inside a sandbox's
namespace runs in a throwaway thread that ``setns``-es into it and opens its own socket there
(network namespaces are per thread, and a netlink socket belongs to its opener's namespace).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterable
from ipaddress import IPv4Network
from typing import NamedTuple

from stackfile.network.netns import in_netns
from stackfile.network.rtnl import Netlink, delete_link, link_exists

__all__ = [
    "InsideConfig",
    "add_veth",
    "bridge_mac",
    "configure_inside",
    "create_bridge",
    "delete_link",
    "host_subnets",
    "link_exists",
]

_local = threading.local()


def _nl() -> Netlink:
    nl = getattr(_local, "nl", None)
    if nl is None:
        nl = _local.nl = Netlink()
    return nl


def host_subnets() -> list[IPv4Network]:
    """Every IPv4 network the host has an address in or a route to (not default, not host routes)."""
    nl = _nl()
    nets = {IPv4Network(f"{addr}/{plen}", strict=False) for addr, plen in nl.ipv4_addresses()}
    nets |= {IPv4Network(f"{dst}/{plen}", strict=False) for dst, plen in nl.ipv4_routes() if 0 < plen < 32}
    return sorted(nets)


def bridge_mac(name: str) -> str:
    """A stable, locally administered unicast MAC for the bridge ``name``."""
    digest = hashlib.sha256(name.encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def create_bridge(name: str, gateway: str, prefixlen: int) -> None:
    """A bridge holding the gateway address, up (idempotent)."""
    nl = _nl()
    if not link_exists(name):
        # A fixed MAC: a bridge without one takes the lowest MAC of its ports, so it changed
        # whenever a container joined, and every other container's ARP entry for the gateway went
        # stale (DNS queries to the gateway were lost for ~5 s after each new container).
        nl.add_bridge(name, bridge_mac(name))
    index = socket.if_nametoindex(name)
    nl.add_address(index, gateway, prefixlen, exist_ok=True)
    nl.set_up(index)


def add_veth(host_name: str, peer_name: str, netns_path: str, bridge: str, mac: str | None) -> None:
    """A veth pair whose peer is created directly inside the namespace, host side up on ``bridge``."""
    nl = _nl()
    nl.delete(host_name)  # a leftover of a crashed run (names are per store root and sandbox)
    fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        nl.add_veth(host_name, peer_name, fd, socket.if_nametoindex(bridge), mac)
    finally:
        os.close(fd)


def enslave(name: str, bridge: str) -> bool:
    """Put the existing link ``name`` on ``bridge`` (a bridge made again after a crash or a
    reboot starts without the veths of the containers that were on it); False if it is gone."""
    try:
        index = socket.if_nametoindex(name)
    except OSError:
        return False
    _nl().set_master(index, socket.if_nametoindex(bridge))
    return True


class InsideConfig(NamedTuple):
    """What to set up inside a sandbox: addresses per interface and the default gateway."""

    addresses: tuple[tuple[str, str, int], ...]  # (ifname, address, prefixlen)
    default_gateway: str | None


def configure_inside(netns_path: str, config: InsideConfig) -> None:
    """Loopback up, addresses and links up, default route — from inside the namespace."""
    in_netns(netns_path, lambda: _configure(config))


def _configure(config: InsideConfig) -> None:
    with Netlink() as nl:
        nl.set_up(socket.if_nametoindex("lo"))
        for ifname, address, prefixlen in config.addresses:
            index = socket.if_nametoindex(ifname)
            nl.add_address(index, address, prefixlen)
            nl.set_up(index)
        if config.default_gateway:
            nl.add_default_route(config.default_gateway)


def links_inside(netns_path: str) -> list[str]:
    """Interface names inside a namespace (used by tests and inspect)."""
    return in_netns(netns_path, lambda: sorted(name for _, name in socket.if_nameindex()))


def iter_links(prefix: str) -> Iterable[str]:
    """Names of host links starting with ``prefix``."""
    for _, name in socket.if_nameindex():
        if name.startswith(prefix):
            yield name
