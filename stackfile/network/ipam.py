"""IP address management: a /24 per network out of 10.89.0.0/16, addresses from .2 upwards.

The choices are pure functions over what is in use; :mod:`stackfile.network.manager` calls them
inside a ``BEGIN IMMEDIATE`` transaction (and, for subnets, under a host-wide lock) so two callers
never get the same subnet or address.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network

from stackfile.errors import Conflict, InvalidSpec, Location, Unavailable

__all__ = ["DEFAULT_POOL", "choose_address", "choose_subnet", "mac_for", "parse_subnet"]

DEFAULT_POOL = IPv4Network("10.89.0.0/16")


def mac_for(address: IPv4Address) -> str:
    """The MAC Docker gives an endpoint: ``02:42`` then the four bytes of its IPv4 address.

    A container recreated on the same IP then has the same MAC, so the host's and its peers'
    neighbour entries for that IP stay right (with a random MAC they pointed at the gone
    container's address for seconds, and its published port did not answer)."""
    return ":".join(f"{b:02x}" for b in (0x02, 0x42, *address.packed))


def _key(network: str, key: str) -> Location:
    return Location(key_path=f"networks.{network}.{key}")


def parse_subnet(network: str, subnet: str, gateway: str | None) -> tuple[IPv4Network, IPv4Address]:
    """Check a user-given ``ipam.config`` subnet (and gateway); default gateway is the first host."""
    try:
        net = IPv4Network(subnet, strict=True)
    except ValueError as exc:
        raise InvalidSpec(f"network {network!r}: invalid subnet {subnet!r}: {exc}",
                          location=_key(network, "ipam.config.subnet"),
                          hint="an IPv4 CIDR such as 10.89.40.0/24") from None
    if net.prefixlen > 30:
        raise InvalidSpec(f"network {network!r}: subnet {subnet} is too small",
                          location=_key(network, "ipam.config.subnet"), hint="use a /30 or larger")
    if gateway is None:
        return net, next(net.hosts())
    try:
        gw = IPv4Address(gateway)
    except ValueError:
        gw = None
    if gw is None or gw not in net or gw in (net.network_address, net.broadcast_address):
        raise InvalidSpec(f"network {network!r}: gateway {gateway!r} is not a host address of {net}",
                          location=_key(network, "ipam.config.gateway"))
    return net, gw


def overlapping(net: IPv4Network, used: Iterable[IPv4Network]) -> IPv4Network | None:
    """The first of ``used`` that overlaps ``net``, or None."""
    return next((u for u in used if u.overlaps(net)), None)


def choose_subnet(network: str, used: Iterable[IPv4Network], pool: IPv4Network = DEFAULT_POOL,
                  prefix: int = 24) -> IPv4Network:
    """The lowest ``/prefix`` of ``pool`` that overlaps nothing in ``used``."""
    taken = sorted(set(used))
    for cand in pool.subnets(new_prefix=prefix):
        if overlapping(cand, taken) is None:
            return cand
    raise Unavailable(f"network {network!r}: the address pool {pool} is exhausted",
                      location=_key(network, "ipam.config.subnet"),
                      hint="remove unused networks (stackfile network prune) or give ipam.config.subnet")


def choose_address(network: str, subnet: IPv4Network, gateway: IPv4Address, used: Iterable[str],
                   requested: str | None = None, who: str = "") -> IPv4Address:
    """A free host address of ``subnet``: ``requested`` if given and free, else the lowest free."""
    taken = {IPv4Address(u) for u in used} | {gateway}
    if requested:
        return _requested(network, subnet, taken, requested, who)
    for host in subnet.hosts():
        if host not in taken:
            return host
    raise Unavailable(f"network {network!r}: no free address left in {subnet}",
                      hint="use a larger ipam.config.subnet")


def _requested(network: str, subnet: IPv4Network, taken: set[IPv4Address], requested: str,
               who: str) -> IPv4Address:
    where = Location(key_path=f"services.{who}.networks.{network}.ipv4_address" if who else None)
    try:
        addr = IPv4Address(requested)
    except ValueError:
        raise InvalidSpec(f"invalid ipv4_address {requested!r} on network {network!r}",
                          location=where) from None
    if addr not in subnet or addr in (subnet.network_address, subnet.broadcast_address):
        raise InvalidSpec(f"ipv4_address {addr} is not a host address of network {network!r} ({subnet})",
                          location=where)
    if addr in taken:
        raise Conflict(f"ipv4_address {addr} is already in use on network {network!r}", location=where)
    return addr
