"""The hand-built rtnetlink delete request and the reading of its acknowledgement."""

from __future__ import annotations

import errno
import struct

from stackfile.network.rtnl import RTM_DELLINK, ack_errno, dellink_message, link_exists


def test_dellink_message_layout() -> None:
    msg = dellink_message("sfabcdef0123", seq=7)
    length, kind, flags, seq, pid = struct.unpack_from("=IHHII", msg)
    assert (length, kind, flags, seq, pid) == (len(msg), RTM_DELLINK, 0x5, 7, 0)
    assert len(msg) % 4 == 0
    family, _, index = struct.unpack_from("=BxHi", msg, 16)
    assert (family, index) == (0, 0)  # looked up by name, not index
    alen, akind = struct.unpack_from("=HH", msg, 32)
    assert akind == 3 and msg[36:36 + alen - 4] == b"sfabcdef0123\0"


def test_ack_errno() -> None:
    def ack(code: int) -> bytes:
        return struct.pack("=IHHII", 36, 2, 0, 1, 0) + struct.pack("=i", code) + b"\0" * 16

    assert ack_errno(ack(0)) == 0
    assert ack_errno(ack(-errno.ENODEV)) == errno.ENODEV
    assert ack_errno(struct.pack("=IHHII", 16, 3, 0, 1, 0)) == 0  # NLMSG_DONE


def test_link_exists_reads_sysfs() -> None:
    assert link_exists("lo")
    assert not link_exists("sfno-such-link")
