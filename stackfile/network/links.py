"""Netlink operations through pyroute2 (imported lazily: it costs ~120 ms to import).

One ``IPRoute`` per thread for the host namespace; configuration inside a sandbox's namespace runs
in a throwaway thread that ``setns``-es into it (network namespaces are per thread), which is
~3x faster than pyroute2's forking ``IPRoute(netns=...)``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any

from stackfile.network.netns import in_netns
from stackfile.network.rtnl import delete_link, link_exists

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


def _ipr() -> Any:
    ipr = getattr(_local, "ipr", None)
    if ipr is None:
        from pyroute2 import IPRoute

        ipr = _local.ipr = IPRoute()
    return ipr


def _index(name: str) -> int | None:
    found = _ipr().link_lookup(ifname=name)
    return found[0] if found else None




def host_subnets() -> list[IPv4Network]:
    """Every IPv4 network the host has an address in or a route to (not default, not host routes)."""
    import socket

    ipr = _ipr()
    nets: set[IPv4Network] = set()
    for msg in ipr.get_addr(family=socket.AF_INET):
        nets.add(IPv4Network(f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}", strict=False))
    for msg in ipr.get_routes(family=socket.AF_INET, table=254):
        dst, plen = msg.get_attr("RTA_DST"), msg["dst_len"]
        if dst and 0 < plen < 32:
            nets.add(IPv4Network(f"{dst}/{plen}", strict=False))
    return sorted(nets)


def bridge_mac(name: str) -> str:
    """A stable, locally administered unicast MAC for the bridge ``name``."""
    digest = hashlib.sha256(name.encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def create_bridge(name: str, gateway: str, prefixlen: int) -> None:
    """A bridge holding the gateway address, up (idempotent)."""
    ipr = _ipr()
    if _index(name) is None:
        # A fixed MAC: a bridge without one takes the lowest MAC of its ports, so it changed
        # whenever a container joined, and every other container's ARP entry for the gateway went
        # stale (DNS queries to the gateway were lost for ~5 s after each new container).
        ipr.link("add", ifname=name, kind="bridge", address=bridge_mac(name))
    idx = _index(name)
    try:
        ipr.addr("add", index=idx, address=gateway, prefixlen=prefixlen)
    except Exception as exc:
        if getattr(exc, "code", None) != errno.EEXIST:
            raise
    ipr.link("set", index=idx, state="up")


def add_veth(host_name: str, peer_name: str, netns_path: str, bridge: str, mac: str | None) -> None:
    """A veth pair whose peer is created directly inside the namespace, host side on ``bridge``."""
    ipr = _ipr()
    delete_link(host_name)  # a leftover of a crashed run (names are per store root and sandbox)
    fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        peer: dict[str, Any] = {"ifname": peer_name, "net_ns_fd": fd}
        if mac:
            peer["address"] = mac
        ipr.link("add", ifname=host_name, kind="veth", peer=peer)
    finally:
        os.close(fd)
    br = _index(bridge)
    ipr.link("set", index=_index(host_name), master=br, state="up")


@dataclass(frozen=True)
class InsideConfig:
    """What to set up inside a sandbox: addresses per interface and the default gateway."""

    addresses: tuple[tuple[str, str, int], ...]  # (ifname, address, prefixlen)
    default_gateway: str | None


def configure_inside(netns_path: str, config: InsideConfig) -> None:
    """Loopback up, addresses and links up, default route — from inside the namespace."""
    in_netns(netns_path, lambda: _configure(config))


def _configure(config: InsideConfig) -> None:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
        for ifname, address, prefixlen in config.addresses:
            idx = ipr.link_lookup(ifname=ifname)[0]
            ipr.addr("add", index=idx, address=address, prefixlen=prefixlen)
            ipr.link("set", index=idx, state="up")
        if config.default_gateway:
            ipr.route("add", dst="0.0.0.0/0", gateway=config.default_gateway)


def links_inside(netns_path: str) -> list[str]:
    """Interface names inside a namespace (used by tests and inspect)."""
    def names() -> list[str]:
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            return sorted(str(m.get_attr("IFLA_IFNAME")) for m in ipr.get_links())

    return in_netns(netns_path, names)


def iter_links(prefix: str) -> Iterable[str]:
    """Names of host links starting with ``prefix``."""
    for msg in _ipr().get_links():
        name = str(msg.get_attr("IFLA_IFNAME"))
        if name.startswith(prefix):
            yield name
