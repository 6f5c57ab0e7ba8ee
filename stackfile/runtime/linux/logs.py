"""Container logs as JSON lines: ``{"time": RFC3339Nano, "stream": "stdout"|"stderr", "log": "...\\n"}``.

The supervisor pumps the container's stdout/stderr pipes (or its pty) into ``log.json``; readers
parse it back with tail/since/follow.
"""

from __future__ import annotations

import json
import os
import selectors
import time
from collections import deque
from collections.abc import Callable, Iterator

from stackfile.runtime.api import LogLine
from stackfile.runtime.linux.state import now_rfc3339, to_ns

__all__ = ["pump", "read_logs"]

_MAX_LINE = 16 * 1024


def _emit(out: int, stream: str, text: str) -> None:
    line = json.dumps({"time": now_rfc3339(), "stream": stream, "log": text}, ensure_ascii=False)
    os.write(out, (line + "\n").encode())


def pump(sources: dict[int, str], log_path: str, inputs: dict[int, int] | None = None) -> None:
    """Copy each fd (→ stream name) into ``log_path`` line by line until every fd hits EOF;
    meanwhile copy each of ``inputs`` (fd → fd: the stdin FIFO → a pty's master) as it comes.
    The inputs are closed at the end."""
    out = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    partial = dict.fromkeys(sources, b"")
    sel = selectors.DefaultSelector()
    for fd in sources:
        sel.register(fd, selectors.EVENT_READ)
    for fd in inputs or ():
        sel.register(fd, selectors.EVENT_READ)
    try:
        while any(fd in partial for fd in sel.get_map()):
            for key, _ in sel.select():
                fd = int(key.fd)
                if inputs and fd in inputs:
                    _copy(fd, inputs[fd])
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the pty's other side is gone
                    chunk = b""
                buf = partial[fd] + chunk
                *lines, partial[fd] = buf.split(b"\n")
                for line in lines:
                    _emit(out, sources[fd], line.decode("utf-8", "replace") + "\n")
                while len(partial[fd]) >= _MAX_LINE:  # like Docker: long lines are split at 16 KiB
                    _emit(out, sources[fd], partial[fd][:_MAX_LINE].decode("utf-8", "replace"))
                    partial[fd] = partial[fd][_MAX_LINE:]
                if not chunk:
                    if partial[fd]:
                        _emit(out, sources[fd], partial[fd].decode("utf-8", "replace"))
                    sel.unregister(fd)
                    os.close(fd)
                    del partial[fd]
    finally:
        sel.close()
        os.close(out)
        for fd in inputs or ():
            os.close(fd)


def _copy(src: int, dst: int) -> None:
    """One read of ``src`` written to ``dst`` (a pty whose other side went: dropped)."""
    try:
        data = os.read(src, 65536)
        while data:
            data = data[os.write(dst, data):]
    except OSError:
        pass


def _parse(raw: str) -> LogLine | None:
    try:
        obj = json.loads(raw)
        return LogLine(obj["time"], obj["stream"], obj["log"].removesuffix("\n"))
    except (ValueError, KeyError, TypeError):
        return None


def read_logs(path: str, *, tail: int | None = None, since: str | None = None, follow: bool = False,
              running: Callable[[], bool] = lambda: False) -> Iterator[LogLine]:
    """Lines of ``path``: the last ``tail``, those at or after ``since``; with ``follow`` keep
    reading new lines while ``running()`` is true."""
    since_ns = to_ns(since) if since else None
    try:
        fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return
    with fh:
        lines: Iterator[str] = iter(deque(fh, maxlen=tail)) if tail is not None else iter(fh.readlines())
        for raw in lines:
            line = _parse(raw)
            if line and (since_ns is None or to_ns(line.time) >= since_ns):
                yield line
        pending = ""
        while follow:
            alive = running()
            chunk = fh.readline()
            while chunk:
                pending += chunk
                if pending.endswith("\n"):
                    line = _parse(pending)
                    pending = ""
                    if line:
                        yield line
                chunk = fh.readline()
            if not alive:
                return
            time.sleep(0.05)
