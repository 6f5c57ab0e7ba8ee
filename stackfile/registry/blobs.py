"""Blob downloads into the store: streamed, digest and size checked while they arrive, resumed.

A blob being fetched lives in ``ingest/<hex>.part`` (locked while written). A dropped connection
is retried with ``Range: bytes=<have>-``; a later run finds the part file, re-hashes it and resumes
from there too. Only a complete blob whose digest and size match is renamed into ``blobs/``: a
mismatch removes the part file and stores nothing.

A ``consume`` function (a layer's unpacker) can read the bytes while they arrive, on its own
thread, so unpacking overlaps the download; its result counts only when the blob is complete and
verified. When the download had to resume, the stream it saw is abandoned and the caller unpacks
from the verified blob instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import http.client
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from stackfile.errors import InvalidSpec, StackfileError, Unavailable
from stackfile.registry.session import Session
from stackfile.store.paths import StorePaths

__all__ = ["Consumer", "fetch_blob"]

_CHUNK = 1 << 20
RETRIES = 3

Progress = Callable[[int], None]
Consumer = Callable[[BinaryIO], Any]


class _Abandoned(Exception):
    """The stream a consumer reads was cut (the download must resume from the file)."""


class _Tee:
    """A read-only stream of the chunks the downloader hands over (bounded: back-pressure)."""

    def __init__(self) -> None:
        self.chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self.buffer = b""
        self.pos = 0
        self.eof = False
        self.ended = False  # the end-of-feed marker was taken
        self.abandoned = False

    def put(self, chunk: bytes | None) -> None:
        self.chunks.put(chunk)

    def read(self, size: int = -1) -> bytes:
        pieces = []
        want = size
        while want != 0:
            if self.pos >= len(self.buffer):
                if self.eof:
                    break
                chunk = self.chunks.get()
                if chunk is None:
                    self.ended = True
                    if self.abandoned:
                        raise _Abandoned()
                    self.eof = True
                    break
                self.buffer, self.pos = chunk, 0
            end = len(self.buffer) if want < 0 else min(len(self.buffer), self.pos + want)
            pieces.append(self.buffer[self.pos : end])
            if want > 0:
                want -= end - self.pos
            self.pos = end
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


class _Reader:
    """Runs ``consume(tee)`` on a thread; ``result`` after the feed ended."""

    def __init__(self, consume: Consumer) -> None:
        self.tee = _Tee()
        self.value: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(consume,), name="unpack", daemon=True)
        self.thread.start()

    def _run(self, consume: Consumer) -> None:
        try:
            self.value = consume(self.tee)  # type: ignore[arg-type]
            while self.tee.read(_CHUNK):  # drain what the consumer left (tar padding)
                pass
        except BaseException as exc:
            self.error = exc
            while not self.tee.ended and self.tee.chunks.get() is not None:  # keep the downloader going
                pass

    def feed(self, chunk: bytes) -> None:
        if self.thread.is_alive():
            self.tee.put(chunk)

    def finish(self, abandoned: bool = False) -> Any:
        self.tee.abandoned = abandoned
        if self.thread.is_alive():
            self.tee.put(None)
        self.thread.join()
        if abandoned or isinstance(self.error, _Abandoned):
            return None
        if self.error is not None:
            raise self.error
        return self.value


def fetch_blob(
    session: Session,
    paths: StorePaths,
    repo_path: str,
    digest: str,
    size: int,
    progress: Progress | None = None,
    consume: Consumer | None = None,
) -> tuple[str, Any]:
    """Make blob ``digest`` (``size`` bytes, -1 if unknown) present in the store. Returns its path
    and what ``consume`` returned when it read the whole blob as it arrived (else None)."""
    target = paths.blob(digest)
    if target.is_file():
        return str(target), None
    paths.ingest.mkdir(parents=True, exist_ok=True)
    part = paths.ingest / f"{digest.split(':', 1)[1]}.part"
    fd = os.open(part, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "r+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # another pull of the same blob waits here
        if target.is_file():
            part.unlink(missing_ok=True)
            return str(target), None
        hasher: Any = hashlib.sha256()
        while chunk := fh.read(_CHUNK):
            hasher.update(chunk)
        have = fh.tell()
        if 0 <= size < have:
            fh.seek(0)
            fh.truncate()
            hasher, have = hashlib.sha256(), 0
        if progress:
            progress(have)
        reader = _Reader(consume) if consume is not None and have == 0 else None
        try:
            for attempt in range(RETRIES + 1):
                try:
                    have, hasher = _download(
                        session, repo_path, digest, fh, have, hasher, size, progress, reader
                    )
                    break
                except Unavailable:
                    if reader is not None:
                        reader.finish(abandoned=True)
                        reader = None
                    if attempt == RETRIES:
                        raise
            fh.flush()
            os.fsync(fh.fileno())
            got = "sha256:" + hasher.hexdigest()
            if got != digest or (size >= 0 and have != size):
                part.unlink(missing_ok=True)
                raise InvalidSpec(
                    f"blob {digest} from {session.host}/{repo_path} does not match its digest: "
                    f"got {got} ({have} bytes, {size} expected); nothing was stored",
                    hint="the registry's copy is corrupt, or something between changed it",
                )
            result = reader.finish() if reader is not None else None
            reader = None
        finally:
            if reader is not None:
                reader.finish(abandoned=True)
        os.chmod(part, 0o444)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
    return str(target), result


def _download(
    session: Session,
    repo_path: str,
    digest: str,
    fh: Any,
    have: int,
    hasher: Any,
    size: int,
    progress: Progress | None,
    reader: _Reader | None,
) -> tuple[int, Any]:
    headers = {"Range": f"bytes={have}-"} if have else {}
    if size >= 0 and have == size:
        return have, hasher
    resp = session.request(
        "GET",
        f"/v2/{repo_path}/blobs/{digest}",
        scopes=(f"repository:{repo_path}:pull",),
        headers=headers,
        what=f"download blob {digest[:19]}",
        ok=(200, 206),
        redirect=True,
    )
    if resp.status == 200 and have:  # the server ignored Range: start over
        fh.seek(0)
        fh.truncate()
        have, hasher = 0, hashlib.sha256()
    write, update = fh.write, hasher.update
    feed = reader.feed if reader is not None else None
    try:
        while True:
            chunk = resp.read(_CHUNK)
            if not chunk:
                break
            write(chunk)
            update(chunk)
            if feed is not None:
                feed(chunk)
            have += len(chunk)
            if progress:
                progress(have)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        session.close()
        raise Unavailable(
            f"registry {session.host}: connection lost while downloading {digest[:19]}: {exc}",
            hint="run the command again: it resumes where this stopped",
        ) from None
    except StackfileError:
        raise
    if size >= 0 and have < size:
        session.close()
        raise Unavailable(
            f"registry {session.host}: download of {digest[:19]} stopped at {have} of {size} bytes",
            hint="run the command again: it resumes where this stopped",
        )
    return have, hasher
