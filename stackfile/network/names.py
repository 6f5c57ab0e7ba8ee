"""Kernel object names derived from (store root, object name): unique per store, at most 15 chars."""

from __future__ import annotations

import hashlib

from stackfile.store.paths import StorePaths

__all__ = ["BRIDGE_PREFIX", "bridge_name", "nft_table", "ports_table", "veth_name"]

BRIDGE_PREFIX = "sf"
VETH_PREFIX = "sv"


def _hex(*parts: str, n: int) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:n]


def bridge_name(paths: StorePaths, network: str) -> str:
    """``sf`` + 10 hex digits of a hash of the store root and the network name."""
    return BRIDGE_PREFIX + _hex(str(paths.root), network, n=10)


def veth_name(paths: StorePaths, sandbox_id: str, network: str) -> str:
    """Host side of a sandbox's veth on one network: ``sv`` + 12 hex digits."""
    return VETH_PREFIX + _hex(str(paths.root), sandbox_id, network, n=12)


def ports_table(paths: StorePaths, sandbox_id: str) -> str:
    """The nftables table holding one sandbox's DNAT rules for published ports."""
    return "stackfile_p" + _hex(str(paths.root), sandbox_id, n=12)


def nft_table(bridge: str) -> str:
    """The nftables table holding one network's NAT and isolation rules."""
    return f"stackfile_{bridge}"
