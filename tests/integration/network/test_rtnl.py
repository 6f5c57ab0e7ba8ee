"""stackfile's own rtnetlink requests, read back through pyroute2 (an independent implementation).

Each test makes a throwaway network namespace (``ip netns``-free: unshare in a thread, bind-mounted
under a temp dir) or host links with unique names, and removes them whatever happens.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from ipaddress import IPv4Network
from pathlib import Path

import pyroute2  # the differential oracle: a test extra, so never skipped
import pytest

from stackfile.network import links
from stackfile.network.netns import in_netns
from stackfile.network.rtnl import Netlink, link_exists

TAG = f"sft{os.getpid() % 100000:05d}"


@pytest.fixture()
def netns_path() -> Iterator[str]:
    """A new network namespace bind-mounted on a temp file; unmounted and removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="stackfile-rtnl-", dir="/var/tmp"))
    path = tmp / "ns"
    path.touch()
    subprocess.run(["unshare", "--net=" + str(path), "true"], check=True)
    try:
        yield str(path)
    finally:
        subprocess.run(["umount", str(path)], check=False)
        path.unlink(missing_ok=True)
        tmp.rmdir()


@pytest.fixture()
def names() -> Iterator[dict[str, str]]:
    made = {"bridge": f"{TAG}b", "veth": f"{TAG}v"}
    try:
        yield made
    finally:
        for name in made.values():
            links.delete_link(name)


def test_bridge_veth_address_route_match_what_pyroute2_reads(netns_path: str, names: dict[str, str]) -> None:
    links.create_bridge(names["bridge"], "10.89.254.1", 24)
    links.create_bridge(names["bridge"], "10.89.254.1", 24)  # idempotent
    links.add_veth(names["veth"], "eth0", netns_path, names["bridge"], "02:42:0a:59:fe:02")
    links.configure_inside(netns_path, links.InsideConfig((("eth0", "10.89.254.2", 24),), "10.89.254.1"))

    with pyroute2.IPRoute() as ipr:
        (br,) = ipr.get_links(ifname=names["bridge"])
        assert br.get_attr("IFLA_ADDRESS") == links.bridge_mac(names["bridge"])
        assert br.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_KIND") == "bridge"
        assert br["flags"] & 1  # IFF_UP
        assert _ipv4(ipr, br["index"]) == [("10.89.254.1", 24)]
        (veth,) = ipr.get_links(ifname=names["veth"])
        assert veth.get_attr("IFLA_MASTER") == br["index"] and veth["flags"] & 1

    def inside() -> tuple[list[str], str, list[tuple[str, int]], str | None, bool]:
        with pyroute2.IPRoute() as ipr:
            (eth0,) = ipr.get_links(ifname="eth0")
            (lo,) = ipr.get_links(ifname="lo")
            addrs = _ipv4(ipr, eth0["index"])
            default = [r for r in ipr.get_routes(family=socket.AF_INET, table=254) if r["dst_len"] == 0]
            gateway = default[0].get_attr("RTA_GATEWAY") if default else None
            names_ = sorted(m.get_attr("IFLA_IFNAME") for m in ipr.get_links())
            return names_, eth0.get_attr("IFLA_ADDRESS"), addrs, gateway, bool(lo["flags"] & 1)

    names_inside, mac, addrs, gateway, lo_up = in_netns(netns_path, inside)
    assert names_inside == ["eth0", "lo"] == links.links_inside(netns_path)
    assert mac == "02:42:0a:59:fe:02" and addrs == [("10.89.254.2", 24)]
    assert gateway == "10.89.254.1" and lo_up
    assert IPv4Network("10.89.254.0/24") in links.host_subnets()
    assert names["veth"] in list(links.iter_links(TAG))

    links.delete_link(names["veth"])
    assert not link_exists(names["veth"])
    assert links.links_inside(netns_path) == ["lo"]  # the peer went with it


def _ipv4(ipr: object, index: int) -> list[tuple[str, int]]:
    return [(a.get_attr("IFA_ADDRESS"), a["prefixlen"])
            for a in ipr.get_addr(family=socket.AF_INET, index=index)]  # type: ignore[attr-defined]


def _pyroute2_subnets() -> set[IPv4Network]:
    with pyroute2.IPRoute() as ipr:
        expected = {IPv4Network(f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}", strict=False)
                    for a in ipr.get_addr(family=socket.AF_INET)}
        for r in ipr.get_routes(family=socket.AF_INET, table=254):
            if r.get_attr("RTA_DST") and 0 < r["dst_len"] < 32:
                expected.add(IPv4Network(f"{r.get_attr('RTA_DST')}/{r['dst_len']}", strict=False))
    return expected


def test_host_subnets_agree_with_pyroute2() -> None:
    # other processes may add or remove bridges between the two readings: agree on one of 3 tries
    for _ in range(3):
        expected, got = _pyroute2_subnets(), set(links.host_subnets())
        if got == expected:
            break
    assert got == expected


def test_kernel_errors_name_the_request(names: dict[str, str]) -> None:
    with Netlink() as nl:
        nl.delete(names["veth"])  # absent: not an error
        with pytest.raises(OSError) as info:
            nl.add_address(2**31 - 1, "10.89.254.9", 24)  # no such link
        assert info.value.errno in (errno.ENODEV, errno.EINVAL) and "10.89.254.9/24" in str(info.value)
        links.create_bridge(names["bridge"], "10.89.253.1", 24)
        with pytest.raises(OSError) as info:
            nl.add_bridge(names["bridge"], links.bridge_mac(names["bridge"]))
        assert info.value.errno == errno.EEXIST and names["bridge"] in str(info.value)
