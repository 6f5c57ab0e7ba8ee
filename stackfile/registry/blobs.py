"""Blob downloads into the store: streamed, digest and size checked while they arrive, resumed.

A blob being fetched lives in ``ingest/<hex>.part`` (locked while written). A dropped connection
is retried with ``Range: bytes=<have>-``; a later run finds the part file, re-hashes it and resumes
from there too. Only a complete blob whose digest and size match is renamed into ``blobs/``: a
mismatch removes the part file and stores nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import http.client
import os
from collections.abc import Callable
from typing import Any

from stackfile.errors import InvalidSpec, StackfileError, Unavailable
from stackfile.registry.session import Session
from stackfile.store.paths import StorePaths

__all__ = ["fetch_blob"]

_CHUNK = 1 << 20
RETRIES = 3

Progress = Callable[[int], None]


def fetch_blob(
    session: Session,
    paths: StorePaths,
    repo_path: str,
    digest: str,
    size: int,
    progress: Progress | None = None,
) -> str:
    """Make blob ``digest`` (``size`` bytes, -1 if unknown) present in the store; returns its path."""
    target = paths.blob(digest)
    if target.is_file():
        return str(target)
    paths.ingest.mkdir(parents=True, exist_ok=True)
    part = paths.ingest / f"{digest.split(':', 1)[1]}.part"
    fd = os.open(part, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "r+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # another pull of the same blob waits here
        if target.is_file():
            part.unlink(missing_ok=True)
            return str(target)
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
        for attempt in range(RETRIES + 1):
            try:
                have, hasher = _download(session, repo_path, digest, fh, have, hasher, size, progress)
                break
            except Unavailable:
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
        os.chmod(part, 0o444)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
    return str(target)


def _download(
    session: Session,
    repo_path: str,
    digest: str,
    fh: object,
    have: int,
    hasher: object,
    size: int,
    progress: Progress | None,
) -> tuple[int, object]:
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
        fh.seek(0)  # type: ignore[attr-defined]
        fh.truncate()  # type: ignore[attr-defined]
        have, hasher = 0, hashlib.sha256()
    write = fh.write  # type: ignore[attr-defined]
    update = hasher.update  # type: ignore[attr-defined]
    try:
        while True:
            chunk = resp.read(_CHUNK)
            if not chunk:
                break
            write(chunk)
            update(chunk)
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
