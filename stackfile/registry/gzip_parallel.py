"""gzip in parallel (as pigz does): the stream is cut into blocks, each compressed on a thread into
a gzip member of its own, the members written in order. A multi-member gzip file is one gzip
stream to every reader (Go's compress/gzip, Python's gzip, zcat), and zlib releases the GIL, so
a layer compresses on every core; a block that does not compress is stored. The uncompressed
stream's sha256 (the layer's diff id) is computed on the way, block by block."""

from __future__ import annotations

import hashlib
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["ParallelGzip"]

BLOCK = 4 << 20


SAMPLE = 64 << 10


def _member(block: bytes) -> bytes:
    """One gzip member (wbits 31: header, deflate, trailer) at level 1, or stored (level 0) when a
    sample of the block does not compress (random or already compressed data)."""
    sample = block[:SAMPLE]
    level = 1 if len(zlib.compress(sample, 1)) < len(sample) * 0.95 else 0
    return zlib.compress(block, level, 31)


class ParallelGzip:
    """A writable stream: ``write`` the tar, ``close``, then read ``diff_id``."""

    def __init__(self, out: Any, workers: int = 2) -> None:
        self.out = out
        self.hash = hashlib.sha256()
        self.buffer = bytearray()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gzip")
        self.pending: deque[Future[bytes]] = deque()
        self.workers = workers

    def write(self, data: bytes) -> int:
        self.buffer += data
        if len(self.buffer) >= BLOCK:
            self._submit()
        return len(data)

    def flush(self) -> None:
        pass

    def _submit(self) -> None:
        block = bytes(self.buffer)
        self.buffer.clear()
        self.hash.update(block)
        self.pending.append(self.pool.submit(_member, block))
        while len(self.pending) > self.workers * 2:
            self.out.write(self.pending.popleft().result())

    def close(self) -> None:
        try:
            if self.buffer or not self.pending:
                self._submit()
            while self.pending:
                self.out.write(self.pending.popleft().result())
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    @property
    def diff_id(self) -> str:
        return "sha256:" + self.hash.hexdigest()
