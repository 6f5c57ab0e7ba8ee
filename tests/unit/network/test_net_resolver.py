"""The DNS resolver over a real store database: per-client views, replicas, extra_hosts, refusals."""

from __future__ import annotations

import asyncio
import json
import struct
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from stackfile.network.dns.records import Records
from stackfile.network.dns.server import Resolver
from stackfile.network.dns.wire import AAAA, NOERROR, REFUSED
from stackfile.network.schema import database
from stackfile.store.paths import StorePaths


def query(name: str, qtype: int = 1) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1)


def decode(reply: bytes) -> tuple[int, list[str]]:
    flags, _qd, an = struct.unpack_from("!HHH", reply, 2)
    pos = 12
    while reply[pos]:
        pos += reply[pos] + 1
    pos += 5
    addrs = []
    for _ in range(an):
        rdlen = struct.unpack_from("!H", reply, pos + 10)[0]
        addrs.append(str(IPv4Address(reply[pos + 12:pos + 12 + rdlen])))
        pos += 12 + rdlen
    return flags & 0xF, addrs


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    paths = StorePaths.at(tmp_path)
    conn = database(paths)
    for name, subnet in (("front", "10.89.1.0/24"), ("back", "10.89.2.0/24")):
        conn.execute("INSERT INTO networks VALUES (?,?,?,?,?,?,0,'{}','{}','now',NULL)",
                     (name, name * 8, "p", "sf" + name, subnet, subnet.replace("0/24", "1")))
    sandboxes = {"web1": [("front", "10.89.1.2", ["web"]), ("back", "10.89.2.2", ["web"])],
                 "web2": [("front", "10.89.1.3", ["web", "www"])],
                 "client": [("front", "10.89.1.4", ["client"])],
                 "db": [("back", "10.89.2.3", ["db"])]}
    for sid, eps in sandboxes.items():
        extra = [["gw.example", "192.0.2.1"]] if sid == "client" else []
        conn.execute("INSERT INTO sandboxes(id, netns_path, hostname, extra_hosts, dns, hosts_files, ports, "
                     "created_at) VALUES (?,?,?,?,?,?,?,?)",
                     (sid, "/x", sid, json.dumps(extra), "[]", "[]", "[]", "now"))
        for i, (net, addr, aliases) in enumerate(eps):
            conn.execute("INSERT INTO endpoints VALUES (?,?,?,?,?,?,?)",
                         (sid, net, f"eth{i}", f"sv{sid}{i}", addr, json.dumps(aliases), ""))
    return paths.db


def ask(db: Path, client: str, name: str, qtype: int = 1, internal: bool = False) -> tuple[int, list[str]]:
    resolver = Resolver(Records(db), upstream=[], internal=internal)
    reply = asyncio.run(resolver.resolve(query(name, qtype), client))
    assert reply is not None
    return decode(reply)


def test_views_follow_shared_networks(db: Path) -> None:
    # only the addresses on networks the client shares (web1's back address is unreachable to it)
    assert ask(db, "10.89.1.4", "web") == (NOERROR, ["10.89.1.2", "10.89.1.3"])
    assert ask(db, "10.89.1.4", "WWW") == (NOERROR, ["10.89.1.3"])
    assert ask(db, "10.89.1.4", "gw.example") == (NOERROR, ["192.0.2.1"])
    assert ask(db, "10.89.2.3", "web") == (NOERROR, ["10.89.2.2"])
    assert ask(db, "10.89.1.4", "web", AAAA) == (NOERROR, [])


def test_refusals(db: Path) -> None:
    assert ask(db, "10.89.9.9", "web")[0] == REFUSED  # not one of our containers
    assert ask(db, "10.89.1.4", "db", internal=True)[0] == REFUSED  # not visible, not forwarded


def test_a_container_on_two_networks_resolves_peers_on_either(db: Path) -> None:
    # web1 (front and back) asks through front's server: db lives on back alone (Docker answers)
    assert ask(db, "10.89.1.2", "db") == (NOERROR, ["10.89.2.3"])
    # a name found on the network asked answers with that network's addresses only
    assert ask(db, "10.89.1.2", "client") == (NOERROR, ["10.89.1.4"])
    assert ask(db, "10.89.2.2", "www") == (NOERROR, ["10.89.1.3"])
    assert ask(db, "10.89.1.4", "db", internal=True)[0] == REFUSED  # client shares no network with db
