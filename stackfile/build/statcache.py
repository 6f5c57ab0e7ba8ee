"""File digests through a stat cache: (size, mtime_ns, inode, mode, ctime_ns) unchanged → digest reused.

A file whose stat matches its cached entry is never re-read; a touched-but-unchanged file is
re-read once, gets the same digest, and so does not change any cache key. The cache is one JSON
file per build context under ``<root>/cache/stat/``.

The ctime is part of the key because a program can set mtime back (``touch -r``, ``cp -p``, tar)
but not ctime. A file changed moments before it was hashed is "racily clean" (git's term): a
second change within the same coarse kernel timestamp tick would leave every stat field as it
was. Such entries are used for this build but not remembered, so the next build reads it again.
"""

from __future__ import annotations

import json
import os
import time

try:  # the builtin module: hashlib loads OpenSSL (~3 ms), which only large files need
    from _sha256 import sha256
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from stackfile.store.paths import StorePaths

__all__ = ["StatCache", "sha256", "stat_cache_file"]

_CHUNK = 1 << 20
RACY_NS = 20_000_000  # > 4 coarse timestamp ticks at HZ=250


def stat_cache_file(cache_dir: str, context: str) -> str:
    """The stat cache file of the (resolved) context directory ``context``."""
    name = sha256(str(context).encode()).hexdigest()[:32]
    return os.path.join(cache_dir, "stat", f"{name}.json")


class StatCache:
    """Persisted map of absolute path → [size, mtime_ns, inode, mode, ctime_ns, hex digest]."""

    def __init__(self, file: str | os.PathLike[str]) -> None:
        self.file = os.fspath(file)
        self._entries: dict[str, list[int | str]] = {}
        self._dirty = False
        self.reads = 0  # files actually read (for tests and benchmarks)
        try:
            with open(self.file, "rb") as fh:
                self._entries = json.loads(fh.read())
        except (OSError, ValueError):
            self._entries = {}

    @classmethod
    def for_context(cls, paths: StorePaths, context: str | os.PathLike[str]) -> StatCache:
        return cls(stat_cache_file(str(paths.cache), os.fspath(context)))

    def digest(self, path: str, st: os.stat_result) -> str:
        """The hex sha256 of the regular file ``path`` whose ``lstat`` is ``st``."""
        key = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode, st.st_ctime_ns]
        entry = self._entries.get(path)
        if entry is not None and entry[:5] == key:
            return str(entry[5])
        if st.st_size < _CHUNK:
            h: Any = sha256()
        else:  # OpenSSL's is faster on large files; the builtin spares loading it (~3 ms) for small ones
            import hashlib

            h = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        self.reads += 1
        hexdigest = h.hexdigest()
        if time.time_ns() - st.st_ctime_ns > RACY_NS:
            self._entries[path] = [*key, hexdigest]
            self._dirty = True
        elif self._entries.pop(path, None) is not None:
            self._dirty = True
        return hexdigest

    def save(self) -> None:
        """Write the cache back (atomically) if anything changed."""
        if not self._dirty:
            return
        os.makedirs(os.path.dirname(self.file), exist_ok=True)
        tmp = f"{os.path.splitext(self.file)[0]}.{os.getpid()}.tmp"
        with open(tmp, "w") as fh:
            fh.write(json.dumps(self._entries, separators=(",", ":")))
        os.replace(tmp, self.file)
        self._dirty = False
