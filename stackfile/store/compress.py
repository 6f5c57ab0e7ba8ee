"""Compression sniffing and hashing stream wrappers for layer tars (gzip, zstd, plain)."""

from __future__ import annotations

import gzip
import hashlib
from typing import IO, Any

__all__ = ["HashingReader", "HashingWriter", "open_decompressed"]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def open_decompressed(fh: IO[bytes]) -> IO[bytes]:
    """A reader of ``fh``'s uncompressed bytes, whatever (gzip, zstd, none) it is compressed with."""
    head = fh.read(4)
    fh.seek(0)
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    if head == ZSTD_MAGIC:
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(fh)
    return fh


class HashingReader:
    """Reads through ``inner`` and keeps the sha256 of everything read."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.hash.update(data)
        return data

    def drain(self) -> None:
        while self.read(1 << 20):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


class HashingWriter:
    """Writes through to ``inner``, hashing (and counting) what passes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        self.inner.write(data)
        return len(data)

    def flush(self) -> None:
        flush = getattr(self.inner, "flush", None)
        if flush:
            flush()

    @property
    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()
