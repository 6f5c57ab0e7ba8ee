"""The event journal: what happened to containers, images, networks and volumes, in order.

``<store root>/events.jsonl`` holds one JSON object a line, in Docker's event message shape::

    {"Type": "container", "Action": "die", "Actor": {"ID": "<id>", "Attributes": {"name": "web-1",
     "image": "app", "exitCode": "0", ...labels}}, "scope": "local", "time": 1767000000,
     "timeNano": 1767000000123456789, "status": "die", "id": "<id>", "from": "app"}

(``status``/``id``/``from`` are the legacy fields Docker still sends for containers.) Writers are
the places where things happen, in whatever process: the runtime's shim (starts, exits, restarts,
OOM kills), the engine (creation, removal), the network and volume code, the health monitor and
watch sessions. Each record is one ``write`` on an ``O_APPEND`` descriptor, so records from
concurrent writers never interleave. Recording never fails the operation it reports: an unwritable
journal loses the record silently.

The journal is bounded: once it passes :data:`MAX_BYTES` the writer that noticed renames it to
``events.jsonl.1`` (replacing the previous one) under a lock, so at most twice that is kept. A
reader that follows (:func:`read` with ``follow``) keeps its descriptor on the renamed file, reads
it to the end, then goes on with the new one.

Kept import-light (``os``, ``json``, ``time``): the shim writes here on every start and exit.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

__all__ = ["FILE", "MAX_BYTES", "read", "record"]

FILE = "events.jsonl"
MAX_BYTES = 4 << 20
_POLL = 0.1


def _path(root: str) -> str:
    return os.path.join(root, FILE)


def record(root: str, type: str, action: str, actor_id: str,
           attributes: Mapping[str, str] | None = None, *, time_ns: int | None = None) -> None:
    """Append one event; ``attributes`` are strings, as Docker's are. Never raises OSError."""
    ns = time.time_ns() if time_ns is None else time_ns
    attrs = {str(k): str(v) for k, v in (attributes or {}).items()}
    message: dict[str, object] = {"Type": type, "Action": action,
                                  "Actor": {"ID": actor_id, "Attributes": attrs}, "scope": "local",
                                  "time": ns // 1_000_000_000, "timeNano": ns}
    if type == "container":
        message.update(status=action, id=actor_id, **({"from": attrs["image"]} if "image" in attrs else {}))
    data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
    path = _path(root)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        os.write(fd, data)
        size = os.fstat(fd).st_size
    except OSError:
        return
    finally:
        os.close(fd)
    if size > MAX_BYTES:
        _rotate(path)


def _rotate(path: str) -> None:
    """Rename the journal to ``.1`` if it is still too big once the lock is ours (two writers that
    both saw it too big rotate once)."""
    import fcntl

    try:
        lock = os.open(path + ".lock", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.stat(path).st_size > MAX_BYTES:
            os.replace(path, path + ".1")
    except OSError:
        pass
    finally:
        os.close(lock)


def _lines(fh: BinaryIO, buffer: list[bytes]) -> Iterator[dict[str, object]]:
    """Complete records read so far from ``fh`` (a partial last line waits in ``buffer``)."""
    chunk = fh.read()
    if not chunk:
        return
    data = b"".join(buffer) + chunk
    buffer.clear()
    *complete, rest = data.split(b"\n")
    if rest:
        buffer.append(rest)
    for line in complete:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a torn record of a writer that died mid-write: skip it
        if isinstance(event, dict):
            yield event


def read(root: str, *, since_ns: int | None = None, until_ns: int | None = None, follow: bool = False,
         stopped: Callable[[], bool] = lambda: False) -> Iterator[dict[str, object]]:
    """The journal's events from ``since_ns`` (inclusive) to ``until_ns`` (inclusive), oldest first.

    With ``follow`` (and no ``until_ns`` passed yet) it then waits for new events until
    ``stopped()`` says so or ``until_ns`` is reached; a rotation while following loses nothing."""
    path = _path(root)

    def wanted(event: dict[str, object]) -> bool | None:
        """True: yield; False: skip; None: past ``until``, stop."""
        ns = event.get("timeNano")
        if not isinstance(ns, int):
            return False
        if until_ns is not None and ns > until_ns:
            return None
        return since_ns is None or ns >= since_ns

    try:
        with open(path + ".1", "rb") as old:
            for event in _lines(old, []):
                ok = wanted(event)
                if ok is None:
                    return
                if ok:
                    yield event
    except OSError:
        pass
    fh = _open(path)
    buffer: list[bytes] = []
    try:
        while True:
            if fh is not None:
                for event in _lines(fh, buffer):
                    ok = wanted(event)
                    if ok is None:
                        return
                    if ok:
                        yield event
            if not follow or stopped() or (until_ns is not None and time.time_ns() > until_ns):
                return
            current = _inode(path)
            if fh is None or (current is not None and current != os.fstat(fh.fileno()).st_ino):
                if fh is not None:  # rotated: finish the old file, then the new one from its start
                    yield from (e for e in _lines(fh, buffer) if wanted(e) is True)
                    fh.close()
                    buffer.clear()
                fh = _open(path)
                if fh is not None:
                    continue
            time.sleep(_POLL)
    finally:
        if fh is not None:
            fh.close()


def _open(path: str) -> BinaryIO | None:
    try:
        return open(path, "rb")
    except OSError:
        return None


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None
