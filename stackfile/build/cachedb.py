"""The build cache: step key → the layers that step produced (component ``build`` in store/db.py)."""

from __future__ import annotations

import json
import os

from stackfile.store.db import connect, ensure_schema
from stackfile.store.schema import images_db

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

    from stackfile.store.paths import StorePaths

__all__ = ["BuildCache", "CacheEntry", "cache_entry"]

MIGRATIONS = [
    """
    CREATE TABLE build_cache (
        key      TEXT PRIMARY KEY,
        layers   TEXT NOT NULL,
        created  TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE build_fast (
        fingerprint TEXT PRIMARY KEY,
        image_id    TEXT NOT NULL,
        bases       TEXT NOT NULL,
        steps       INTEGER NOT NULL DEFAULT 0
    )
    """,
    """
    DROP TABLE build_fast;
    CREATE TABLE build_plans (
        key   TEXT PRIMARY KEY,
        plan  TEXT NOT NULL
    )
    """,
]

_ready: set[str] = set()

CacheEntry = tuple[tuple[str, ...], str]  # (layer ids, created)


class BuildCache:
    """Look up and record step results. A hit needs every layer of the entry to still exist."""

    def __init__(self, paths: StorePaths) -> None:
        self.paths = paths

    @property
    def db(self) -> sqlite3.Connection:
        images_db(self.paths)
        conn = connect(self.paths.db)
        if str(self.paths.db) not in _ready:
            ensure_schema(conn, "build", MIGRATIONS)
            _ready.add(str(self.paths.db))
        return conn

    def get(self, key: str) -> CacheEntry | None:
        return cache_entry(self.db, key, str(self.paths.layers))

    def put(self, key: str, layers: tuple[str, ...]) -> CacheEntry:
        from stackfile.store.layers import now_rfc3339

        created = now_rfc3339()
        self.db.execute(
            "INSERT INTO build_cache(key, layers, created) VALUES(?,?,?) "
            "ON CONFLICT(key) DO UPDATE SET layers=excluded.layers, created=excluded.created",
            (key, json.dumps(list(layers)), created))
        return layers, created

    def referenced_layers(self) -> set[str]:
        out: set[str] = set()
        for (layers,) in self.db.execute("SELECT layers FROM build_cache"):
            out.update(json.loads(layers))
        return out

    def clear(self) -> int:
        """Forget every entry (``system prune``); returns how many there were."""
        self.db.execute("DELETE FROM build_plans")
        cur = self.db.execute("DELETE FROM build_cache")
        return cur.rowcount


def cache_entry(db: sqlite3.Connection, key: str, layers_dir: str) -> CacheEntry | None:
    """The entry of ``key`` if every layer it names is still in the store (row and directory)."""
    row = db.execute("SELECT layers, created FROM build_cache WHERE key=?", (key,)).fetchone()
    if row is None:
        return None
    layers = tuple(json.loads(row[0]))
    if layers:
        marks = ",".join("?" * len(layers))
        (count,) = db.execute(f"SELECT COUNT(*) FROM layers WHERE id IN ({marks})", layers).fetchone()
        if count != len(set(layers)):
            return None
        if not all(os.path.isdir(os.path.join(layers_dir, lid)) for lid in layers):
            return None
    return layers, row[1]
