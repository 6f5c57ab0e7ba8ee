"""The network component's tables in the store database (networks, sandboxes, endpoints)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from stackfile.store.db import connect, ensure_schema
from stackfile.store.paths import StorePaths

__all__ = ["database", "immediate"]

MIGRATIONS = [
    """
    CREATE TABLE networks (
        name        TEXT PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        project     TEXT NOT NULL,
        bridge      TEXT NOT NULL UNIQUE,
        subnet      TEXT NOT NULL UNIQUE,
        gateway     TEXT NOT NULL,
        internal    INTEGER NOT NULL,
        labels      TEXT NOT NULL,
        driver_opts TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        dns_pid     INTEGER
    );
    CREATE TABLE sandboxes (
        id          TEXT PRIMARY KEY,
        netns_path  TEXT NOT NULL,
        hostname    TEXT NOT NULL,
        extra_hosts TEXT NOT NULL,
        dns         TEXT NOT NULL,
        hosts_files TEXT NOT NULL,
        ports       TEXT NOT NULL,
        proxy_pid   INTEGER,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE endpoints (
        sandbox_id  TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,
        network     TEXT NOT NULL REFERENCES networks(name),
        ifname      TEXT NOT NULL,
        host_ifname TEXT NOT NULL,
        address     TEXT NOT NULL,
        aliases     TEXT NOT NULL,
        mac         TEXT NOT NULL,
        PRIMARY KEY (sandbox_id, network),
        UNIQUE (network, address)
    );
    CREATE INDEX endpoints_address ON endpoints(address)
    """,
    # resolv.conf search domains and options of a sandbox
    "ALTER TABLE sandboxes ADD COLUMN resolv TEXT NOT NULL DEFAULT '[[], []]'",
    # a sandbox's links: [[alias, name]], the alias resolves like the name for it alone
    "ALTER TABLE sandboxes ADD COLUMN links TEXT NOT NULL DEFAULT '[]'",
]


def database(paths: StorePaths) -> sqlite3.Connection:
    """This thread's connection to the store database with the network tables in place."""
    paths.root.mkdir(parents=True, exist_ok=True)
    conn = connect(paths.db)
    ensure_schema(conn, "network", MIGRATIONS)
    return conn


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction taken up front (``BEGIN IMMEDIATE``): allocations never race."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
