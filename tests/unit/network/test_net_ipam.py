"""IPAM choices, names, and the firewall transaction text (pure functions)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from stackfile.errors import Conflict, InvalidSpec, Unavailable
from stackfile.network import ipam
from stackfile.network.firewall import nft_script
from stackfile.network.names import bridge_name, veth_name
from stackfile.store.paths import StorePaths


def test_choose_subnet_skips_used_and_overlapping() -> None:
    used = [IPv4Network("10.89.0.0/24"), IPv4Network("10.89.1.128/25"), IPv4Network("10.0.0.0/8")]
    assert ipam.choose_subnet("n", used[:2]) == IPv4Network("10.89.2.0/24")
    with pytest.raises(Unavailable, match="exhausted"):
        ipam.choose_subnet("n", used)


def test_parse_subnet_and_gateway() -> None:
    assert ipam.parse_subnet("n", "10.89.40.0/24", None) == (
        IPv4Network("10.89.40.0/24"), IPv4Address("10.89.40.1"))
    assert ipam.parse_subnet("n", "172.30.0.0/16", "172.30.9.9")[1] == IPv4Address("172.30.9.9")
    for subnet, gw, text in [("10.89.40.1/24", None, "invalid subnet"), ("10.89.40.0/31", None, "too small"),
                             ("10.89.40.0/24", "10.89.41.1", "not a host address")]:
        with pytest.raises(InvalidSpec, match=text) as info:
            ipam.parse_subnet("n", subnet, gw)
        assert "networks.n.ipam.config" in str(info.value)


def test_choose_address() -> None:
    net, gw = IPv4Network("10.89.3.0/29"), IPv4Address("10.89.3.1")
    assert ipam.choose_address("n", net, gw, ["10.89.3.2"]) == IPv4Address("10.89.3.3")
    assert ipam.choose_address("n", net, gw, [], "10.89.3.6") == IPv4Address("10.89.3.6")
    with pytest.raises(Conflict, match="in use"):
        ipam.choose_address("n", net, gw, ["10.89.3.6"], "10.89.3.6", who="web")
    with pytest.raises(InvalidSpec, match=r"services\.web\.networks\.n\.ipv4_address"):
        ipam.choose_address("n", net, gw, [], "10.89.3.7", who="web")  # broadcast
    with pytest.raises(Unavailable, match="no free address"):
        ipam.choose_address("n", net, gw, [f"10.89.3.{i}" for i in range(2, 7)])


def test_kernel_names_are_short_and_unique_per_store() -> None:
    a, b = StorePaths.at("/var/tmp/a"), StorePaths.at("/var/tmp/b")
    assert len(bridge_name(a, "p_default")) <= 15 and bridge_name(a, "x") != bridge_name(b, "x")
    assert len(veth_name(a, "c" * 64, "p_default")) <= 15
    assert veth_name(a, "c", "n1") != veth_name(a, "c", "n2")


def test_nft_script() -> None:
    text = nft_script("sfabc", IPv4Network("10.89.7.0/24"), internal=False)
    assert 'ip saddr 10.89.7.0/24 oifname != "sfabc" masquerade' in text
    assert 'oifname "sf*" drop' in text and "delete table" not in text  # an RCU wait per network
    assert "flush chain ip stackfile_sfabc forward" in text
    internal = nft_script("sfabc", IPv4Network("10.89.7.0/24"), internal=True)
    assert "masquerade" not in internal and 'oifname "sfabc" iifname != "sfabc" drop' in internal


def test_dnat_script_skips_loopback_and_ipv6() -> None:
    from stackfile.network.firewall import ports_script
    from stackfile.network.model import BoundPort

    text = ports_script("stackfile_pabc", [BoundPort("", 8080, 80, "tcp"), BoundPort("::", 8080, 80, "tcp"),
                                           BoundPort("127.0.0.1", 9000, 90, "tcp"),
                                           BoundPort("192.0.2.2", 5353, 53, "udp")], "10.89.0.2")
    assert 'iifname != "lo" iifname != "sf*" fib daddr type local tcp dport 8080 dnat to 10.89.0.2:80' in text
    assert "ip daddr 192.0.2.2 udp dport 5353 dnat to 10.89.0.2:53" in text
    assert "9000" not in text and text.count("dnat to") == 2


def test_an_endpoint_mac_is_derived_from_its_address_as_docker_does() -> None:
    assert ipam.mac_for(IPv4Address("10.89.3.17")) == "02:42:0a:59:03:11"
    assert ipam.mac_for(IPv4Address("172.17.0.2")) == "02:42:ac:11:00:02"  # docker0's first container
