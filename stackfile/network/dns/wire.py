"""Just enough of the DNS wire format (RFC 1035) to answer A queries and pass the rest on."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

__all__ = ["AAAA", "NOERROR", "NXDOMAIN", "REFUSED", "SERVFAIL", "A", "Question", "answer", "parse_question"]

A, AAAA = 1, 28
NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5
_HEADER = struct.Struct("!HHHHHH")


@dataclass(frozen=True)
class Question:
    """The first question of a query, and where it ends in the message."""

    id: int
    flags: int
    name: str  # lower case, no trailing dot
    qtype: int
    qclass: int
    end: int


def parse_question(msg: bytes) -> Question | None:
    """The query's first question, or None if the message is not a well-formed query."""
    if len(msg) < _HEADER.size:
        return None
    qid, flags, qdcount, _, _, _ = _HEADER.unpack_from(msg)
    if flags & 0x8000 or qdcount < 1:
        return None
    labels, pos = [], _HEADER.size
    while pos < len(msg):
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0 or pos + n > len(msg):
            return None
        labels.append(msg[pos:pos + n].decode("ascii", "replace"))
        pos += n
    else:
        return None
    if pos + 4 > len(msg):
        return None
    qtype, qclass = struct.unpack_from("!HH", msg, pos)
    return Question(qid, flags, ".".join(labels).lower(), qtype, qclass, pos + 4)


def answer(query: bytes, q: Question, addresses: list[IPv4Address], rcode: int = NOERROR,
           ttl: int = 5, limit: int = 65535) -> bytes:
    """A response echoing the question, with one A record per address; over ``limit`` bytes
    (512 for plain UDP) the answers are dropped and TC set, so the client retries over TCP."""
    flags = 0x8000 | (q.flags & 0x7900) | 0x0400 | 0x0080 | rcode  # QR, opcode+RD kept, AA, RA
    if _HEADER.size + (q.end - _HEADER.size) + 16 * len(addresses) > limit:
        flags, addresses = flags | 0x0200, []
    head = _HEADER.pack(q.id, flags, 1, len(addresses), 0, 0)
    rrs = b"".join(struct.pack("!HHHIH", 0xC00C, A, 1, ttl, 4) + a.packed for a in addresses)
    return head + query[_HEADER.size:q.end] + rrs
