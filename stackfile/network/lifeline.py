"""Helper processes end themselves when what they serve is gone from the store (the network or
sandbox row, or the whole store root): a crashed CLI or a deleted test root leaves no server behind."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

__all__ = ["watch_row"]

INTERVAL_SECONDS = 2.0


def _exists(db: Path, table: str, row_id: str) -> bool:
    if not db.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0)
        try:
            return conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,)).fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error:
        return True  # busy or mid-migration: ask again next time


async def watch_row(db: Path, table: str, row_id: str, stop: asyncio.Future[None]) -> None:
    """Resolve ``stop`` once ``table`` has no row ``row_id`` (checked every few seconds)."""
    while not stop.done():
        await asyncio.sleep(INTERVAL_SECONDS)
        if not await asyncio.to_thread(_exists, db, table, row_id) and not stop.done():
            stop.set_result(None)
