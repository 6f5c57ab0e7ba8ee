"""SQLite metadata in WAL mode, with a versioned schema per component.

Each package owns its tables and their migrations: it calls :func:`ensure_schema` with its
component name and an ordered list of SQL scripts. Migration *i* (1-based) runs once, in a
transaction, and bumps the component's version to *i*; scripts are never edited once released,
only appended.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence

__all__ = ["connect", "ensure_schema"]

_BOOT = """
CREATE TABLE IF NOT EXISTS schema_versions (
    component TEXT PRIMARY KEY,
    version   INTEGER NOT NULL
);
"""

_local = threading.local()


def connect(db_path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A connection for this thread (cached), WAL mode, foreign keys on, 10 s busy timeout."""
    cache: dict[str, sqlite3.Connection] = getattr(_local, "conns", None) or {}
    _local.conns = cache
    key = os.fspath(db_path)
    conn = cache.get(key)
    if conn is not None:
        return conn
    os.makedirs(os.path.dirname(key), exist_ok=True)
    conn = sqlite3.connect(key, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    _retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"))
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    _retry_locked(lambda: conn.executescript(_BOOT))
    cache[key] = conn
    return conn


def ensure_schema(conn: sqlite3.Connection, component: str, migrations: Sequence[str]) -> None:
    """Bring ``component``'s tables to the newest version, one migration per transaction."""
    row = conn.execute("SELECT version FROM schema_versions WHERE component=?", (component,)).fetchone()
    current = row[0] if row else 0
    if current > len(migrations):
        from stackfile.errors import Internal

        raise Internal(
            f"the store's {component} schema is version {current}, newer than this stackfile knows "
            f"({len(migrations)})",
            hint="upgrade stackfile, or use another --root",
        )
    for version in range(current + 1, len(migrations) + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            again = conn.execute(
                "SELECT version FROM schema_versions WHERE component=?", (component,)
            ).fetchone()
            if again and again[0] >= version:
                conn.execute("COMMIT")
                continue
            for statement in _split(migrations[version - 1]):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_versions(component, version) VALUES(?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version=excluded.version",
                (component, version),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _retry_locked(op: Callable[[], object], attempts: int = 50) -> None:
    """Run ``op``, retrying while another process holds the brand-new database's lock.

    Switching a fresh database to WAL needs an exclusive lock and does not honour the busy
    timeout, so two processes opening a new store at once can see "database is locked".
    """
    for attempt in range(attempts):
        try:
            op()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
