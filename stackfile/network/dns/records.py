"""Name records for the DNS server, read from the store for each query (WAL readers are cheap).

A querying container is known by its source address; it sees the names (service, container,
aliases) of every sandbox on any network it is attached to, plus its own ``extra_hosts``; its
``links`` aliases answer as the names they stand for.
"""

from __future__ import annotations

import json
import sqlite3
from ipaddress import IPv4Address
from pathlib import Path

__all__ = ["Records"]

_PEERS = """
SELECT DISTINCT e2.address, e2.aliases FROM endpoints e1
JOIN endpoints e2 ON e2.network = e1.network
WHERE e1.address = ?
"""


class Records:
    """Read-only view of the network tables for name lookups."""

    def __init__(self, db: Path) -> None:
        self._conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0, isolation_level=None)

    def lookup(self, client: str, name: str) -> tuple[list[IPv4Address], list[str]] | None:
        """(addresses for ``name`` as ``client`` sees it, client's upstream DNS); None if unknown client."""
        rows = self._conn.execute(_PEERS, (client,)).fetchall()
        sandbox = self._conn.execute(
            "SELECT s.extra_hosts, s.dns, s.links FROM sandboxes s JOIN endpoints e ON e.sandbox_id = s.id "
            "WHERE e.address = ?", (client,)).fetchone()
        if sandbox is None:
            return None
        name = next((target for alias, target in json.loads(sandbox[2]) if alias == name), name)
        found = {IPv4Address(addr) for addr, aliases in rows
                 if name in (a.lower() for a in json.loads(aliases))}
        for host, addr in json.loads(sandbox[0]):
            if host.lower() == name and ":" not in addr:
                try:
                    found.add(IPv4Address(addr))
                except ValueError:  # not an address (a name): the hosts file has it, not DNS
                    continue
        return sorted(found), list(json.loads(sandbox[1]))

    def close(self) -> None:
        self._conn.close()
