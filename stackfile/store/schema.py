"""The image store's tables (component ``images`` in store/db.py). Append migrations, never edit."""

from __future__ import annotations

from stackfile.store.db import connect, ensure_schema

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

    from stackfile.store.paths import StorePaths

__all__ = ["images_db"]

MIGRATIONS = [
    """
    CREATE TABLE layers (
        id       TEXT PRIMARY KEY,
        diff_id  TEXT,
        size     INTEGER NOT NULL DEFAULT 0,
        created  TEXT NOT NULL,
        origin   TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE images (
        id       TEXT PRIMARY KEY,
        config   TEXT NOT NULL,
        layers   TEXT NOT NULL,
        created  TEXT NOT NULL,
        added    TEXT NOT NULL
    );
    CREATE TABLE image_names (
        name     TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
    );
    CREATE INDEX image_names_by_image ON image_names(image_id)
    """,
    # registry transfers: repository digests (name@sha256:... of a manifest), the compressed blob
    # each layer was pulled as or pushed as, and where a blob was seen (for cross-repository mounts)
    """
    CREATE TABLE image_digests (
        repo     TEXT NOT NULL,
        digest   TEXT NOT NULL,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        manifest TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (repo, digest)
    );
    CREATE INDEX image_digests_by_image ON image_digests(image_id);
    CREATE TABLE layer_blobs (
        layer_id   TEXT NOT NULL,
        digest     TEXT NOT NULL,
        size       INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        PRIMARY KEY (layer_id, media_type)
    );
    CREATE INDEX layer_blobs_by_digest ON layer_blobs(digest);
    CREATE TABLE blob_sources (
        digest   TEXT NOT NULL,
        registry TEXT NOT NULL,
        repo     TEXT NOT NULL,
        PRIMARY KEY (digest, registry, repo)
    )
    """,
]

_ready: set[str] = set()


def images_db(paths: StorePaths) -> sqlite3.Connection:
    """This thread's connection to the store database, with the images schema in place."""
    key = paths.db_str  # the str form: no pathlib on ``container run``'s first run after a store change
    conn = connect(key)
    if key not in _ready:
        ensure_schema(conn, "images", MIGRATIONS)
        _ready.add(key)
    return conn
