"""DNS wire format, /etc files and port range parsing."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

import pytest

from stackfile.errors import InvalidSpec
from stackfile.network.dns.wire import NOERROR, A, answer, parse_question
from stackfile.network.etcfiles import hosts_file, parse_extra_hosts, resolv_conf
from stackfile.network.model import PortBinding
from stackfile.network.ports import port_range


def query(name: str, qtype: int = A, qid: int = 0x1234) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1)


def test_question_and_answer_round_trip() -> None:
    q = parse_question(query("Web.Example"))
    assert q is not None and (q.id, q.name, q.qtype) == (0x1234, "web.example", A)
    reply = answer(query("Web.Example"), q, [IPv4Address("10.89.0.2"), IPv4Address("10.89.0.3")])
    qid, flags, qd, an, _, _ = struct.unpack_from("!HHHHHH", reply)
    assert (qid, qd, an, flags & 0x8000, flags & 0xF) == (0x1234, 1, 2, 0x8000, NOERROR)
    assert reply.endswith(IPv4Address("10.89.0.3").packed)
    assert parse_question(b"\0" * 5) is None
    many = [IPv4Address(f"10.89.0.{i}") for i in range(2, 40)]
    big = answer(query("web"), parse_question(query("web")), many, limit=512)  # type: ignore[arg-type]
    assert len(big) < 512 and struct.unpack_from("!H", big, 2)[0] & 0x0200  # TC: retry over TCP
    assert parse_question(reply) is None  # a response is not a query


def test_etc_files() -> None:
    assert parse_extra_hosts(["b=10.0.0.2", "a:10.0.0.1", "v6:::1"]) == [
        ("a", "10.0.0.1"), ("b", "10.0.0.2"), ("v6", "::1")]
    assert parse_extra_hosts({"x": "1.2.3.4"}) == [("x", "1.2.3.4")]
    with pytest.raises(InvalidSpec, match=r"services\.web\.extra_hosts"):
        parse_extra_hosts(["nohost"], "web")
    text = hosts_file("web.local", ["10.89.0.2"], [("db", "10.0.0.9")])
    assert "10.89.0.2\tweb.local web\n" in text and text.endswith("10.0.0.9\tdb\n")
    assert resolv_conf("10.89.0.1", ["corp"], ["ndots:2"], "host") == (
        "nameserver 10.89.0.1\nsearch corp\noptions ndots:2\n")
    assert resolv_conf(None, [], [], "nameserver 9.9.9.9\n") == "nameserver 9.9.9.9\n"


def test_port_ranges() -> None:
    assert port_range(PortBinding(80)) == (0, 0)
    assert port_range(PortBinding(80, "8080")) == (8080, 8080)
    assert port_range(PortBinding(80, "8000-8010")) == (8000, 8010)
    for bad in ("0", "70000", "9-3", "http"):
        with pytest.raises(InvalidSpec, match=r"services\.web\.ports"):
            port_range(PortBinding(80, bad), "web")
