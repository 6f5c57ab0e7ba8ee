"""Rows of the network tables as value objects."""

from __future__ import annotations

import json
import sqlite3

from stackfile.network.model import BoundPort, Endpoint, NetworkRecord

__all__ = ["endpoint", "network", "ports"]


def network(row: sqlite3.Row) -> NetworkRecord:
    return NetworkRecord(
        name=row["name"], id=row["id"], project=row["project"], bridge=row["bridge"],
        subnet=row["subnet"], gateway=row["gateway"], internal=bool(row["internal"]),
        labels=json.loads(row["labels"]), driver_opts=json.loads(row["driver_opts"]),
        created_at=row["created_at"], dns_pid=row["dns_pid"],
    )


def endpoint(row: sqlite3.Row) -> Endpoint:
    prefixlen = int(row["subnet"].split("/")[1])
    return Endpoint(
        network=row["network"], ifname=row["ifname"], host_ifname=row["host_ifname"],
        address=row["address"], prefixlen=prefixlen, gateway=row["gateway"],
        aliases=tuple(json.loads(row["aliases"])), mac=row["mac"],
    )


def ports(text: str) -> tuple[BoundPort, ...]:
    return tuple(BoundPort(*item) for item in json.loads(text))


ENDPOINTS = """
SELECT e.*, n.subnet, n.gateway FROM endpoints e JOIN networks n ON n.name = e.network
WHERE e.sandbox_id = ? ORDER BY e.rowid
"""
