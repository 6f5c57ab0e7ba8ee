"""DNS over TCP: a name with more replicas than a 512-byte UDP reply holds comes back truncated (TC
set, no answers) over UDP, and whole over TCP, several queries on one connection, as resolvers do."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest

from stackfile.network import Attachment, NetworkConfig, NetworkManager
from tests.conftest import needs_root

pytestmark = needs_root

REPLICAS = 34  # 12-byte header + question + 16 bytes per A record: more than 30 do not fit in 512

CLIENT = r"""
import json, socket, struct, sys
server, names = sys.argv[1], sys.argv[2:]

def query(name, qid):
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)

def parse(reply, qid):
    rid, flags, qd, an, _, _ = struct.unpack_from("!HHHHHH", reply)
    pos = 12
    while reply[pos]:
        pos += reply[pos] + 1
    pos += 5
    addrs = []
    for _ in range(an):
        _, rtype, _, _, size = struct.unpack_from("!HHHIH", reply, pos)
        addrs.append(socket.inet_ntoa(reply[pos + 12:pos + 12 + size]))
        pos += 12 + size
    return {"id_ok": rid == qid, "tc": bool(flags & 0x0200), "rcode": flags & 0xF, "answers": sorted(addrs)}

out = {}
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.settimeout(5)
udp.sendto(query(names[0], 7), (server, 53))
out["udp"] = parse(udp.recv(4096), 7)
tcp = socket.create_connection((server, 53), timeout=5)
for i, name in enumerate(names):  # one connection, one query after the other
    msg = query(name, 100 + i)
    tcp.sendall(len(msg).to_bytes(2, "big") + msg)
    size = int.from_bytes(tcp.recv(2, socket.MSG_WAITALL), "big")
    out[f"tcp{i} {name}"] = parse(tcp.recv(size, socket.MSG_WAITALL), 100 + i)
print(json.dumps(out))
"""


@pytest.fixture()
def crowd(nm: NetworkManager) -> Iterator[dict[str, str]]:
    """REPLICAS sandboxes answering to ``many`` plus one ``single``: name → addresses by sandbox."""
    ids = [f"{i:02d}".encode().hex().ljust(64, "a") for i in range(REPLICAS + 2)]
    made: dict[str, str] = {}
    try:
        nm.ensure_network(NetworkConfig("d_tcp", "d"))
        for i, sid in enumerate(ids[:REPLICAS]):
            sb = nm.create_sandbox(sid, [Attachment("d_tcp", ("many", f"many-{i}"))])
            made[sid] = sb.endpoints[0].address
        sb = nm.create_sandbox(ids[REPLICAS], [Attachment("d_tcp", ("single",))])
        made[ids[REPLICAS]] = sb.endpoints[0].address
        asker = nm.create_sandbox(ids[REPLICAS + 1], [Attachment("d_tcp", ("asker",))])
        made[ids[REPLICAS + 1]] = asker.netns_path
        yield made
    finally:
        for sid in ids:
            nm.destroy_sandbox(sid)
        if nm.get_network("d_tcp"):
            nm.remove_network("d_tcp")


def test_truncated_over_udp_whole_over_tcp(nm: NetworkManager, crowd: dict[str, str], procs) -> None:
    values = list(crowd.values())
    many, single, netns = sorted(values[:REPLICAS]), values[REPLICAS], values[REPLICAS + 1]
    gateway = nm.inspect_network("d_tcp").gateway
    run = procs.run(netns, sys.executable, "-c", CLIENT, gateway, "many", "single", "many", timeout=20)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["udp"] == {"id_ok": True, "tc": True, "rcode": 0, "answers": []}  # too big for 512 bytes
    assert out["tcp0 many"] == {"id_ok": True, "tc": False, "rcode": 0, "answers": many}
    assert out["tcp1 single"] == {"id_ok": True, "tc": False, "rcode": 0, "answers": [single]}
    assert out["tcp2 many"] == out["tcp0 many"]  # the connection stays open for further queries
