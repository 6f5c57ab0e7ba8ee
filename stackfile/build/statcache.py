"""File digests through a stat cache: (size, mtime_ns, inode, mode) unchanged → digest reused.

A file whose stat matches its cached entry is never re-read; a touched-but-unchanged file is
re-read once, gets the same digest, and so does not change any cache key. The cache is one JSON
file per build context under ``<root>/cache/stat/``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from stackfile.store.paths import StorePaths

__all__ = ["StatCache"]

_CHUNK = 1 << 20


class StatCache:
    """Persisted map of absolute path → [size, mtime_ns, inode, mode, hex digest]."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._entries: dict[str, list[int | str]] = {}
        self._dirty = False
        self.reads = 0  # files actually read (for tests and benchmarks)
        try:
            self._entries = json.loads(file.read_bytes())
        except (OSError, ValueError):
            self._entries = {}

    @classmethod
    def for_context(cls, paths: StorePaths, context: Path) -> StatCache:
        name = hashlib.sha256(str(context).encode()).hexdigest()[:32]
        return cls(paths.cache / "stat" / f"{name}.json")

    def digest(self, path: str, st: os.stat_result) -> str:
        """The hex sha256 of the regular file ``path`` whose ``lstat`` is ``st``."""
        key = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode]
        entry = self._entries.get(path)
        if entry is not None and entry[:4] == key:
            return str(entry[4])
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        self.reads += 1
        hexdigest = h.hexdigest()
        self._entries[path] = [*key, hexdigest]
        self._dirty = True
        return hexdigest

    def save(self) -> None:
        """Write the cache back (atomically) if anything changed."""
        if not self._dirty:
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self._entries, separators=(",", ":")))
        os.replace(tmp, self.file)
        self._dirty = False
