"""Content-addressed blobs: ``ingest/`` → fsync → verify size and digest → rename → read-only.

The containerd content-store discipline: a blob is visible under ``blobs/sha256/<hex>`` only once
complete and verified, so a reader never sees half a blob and a crash leaves only ingest debris
(removed by garbage collection). Writing a blob that already exists is a normal outcome.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from stackfile.digest import is_digest
from stackfile.errors import Internal, InvalidSpec, NotFound
from stackfile.store.paths import StorePaths

__all__ = ["BlobStore", "BlobWriter"]

_CHUNK = 1 << 20


class BlobWriter:
    """A blob being written: ``write`` chunks, then ``commit`` verifies and publishes it."""

    def __init__(self, store: BlobStore, *, small: bool = False) -> None:
        self._store = store
        from stackfile.store.owner import token

        self._path = store.paths.ingest / f"{token()}-{os.urandom(16).hex()}"
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: BinaryIO = open(self._path, "wb")  # noqa: SIM115 - closed in commit/abort
        if small:  # the builtin sha256 spares loading OpenSSL (~3 ms) for a config blob
            from stackfile.digest import sha256

            self._hash: Any = sha256()
        else:  # OpenSSL's is faster on layer-sized streams
            import hashlib

            self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._fh.write(data)
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()

    def commit(self, expected: str | None = None, expected_size: int | None = None) -> str:
        """Fsync, verify, and move into place; returns the digest."""
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            digest = self.digest
            if expected is not None and expected != digest:
                raise InvalidSpec(f"blob digest mismatch: expected {expected}, got {digest}")
            if expected_size is not None and expected_size != self.size:
                raise InvalidSpec(f"blob size mismatch for {digest}: expected {expected_size}, "
                                  f"got {self.size}")
            target = self._store.paths.blob(digest)
            if target.exists():
                return digest  # already there: a normal outcome
            os.chmod(self._path, 0o444)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._path, target)
            return digest
        finally:
            self.abort()

    def abort(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        self._path.unlink(missing_ok=True)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


class BlobStore:
    """Blobs under ``<root>/blobs/sha256``."""

    def __init__(self, paths: StorePaths) -> None:
        self.paths = paths

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def put_bytes(self, data: bytes, expected: str | None = None) -> str:
        with BlobWriter(self, small=len(data) < _CHUNK) as w:
            w.write(data)
            return w.commit(expected)

    def put_stream(self, stream: BinaryIO, expected: str | None = None) -> str:
        with self.writer() as w:
            while chunk := stream.read(_CHUNK):
                w.write(chunk)
            return w.commit(expected)

    def path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise InvalidSpec(f"not a sha256 digest: {digest!r}")
        return self.paths.blob(digest)

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def read(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is not in the store") from None

    def delete(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)

    def list(self) -> Iterator[str]:
        if not self.paths.blobs.is_dir():
            return
        for entry in sorted(os.listdir(self.paths.blobs)):
            yield "sha256:" + entry

    def size(self, digest: str) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise Internal(f"blob {digest} vanished") from None
