"""A foreground process of the engine (an attached run, an exec) on pipes, streamed as JSON lines."""

from __future__ import annotations

import os
import selectors
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["piped"]


def piped(call: Callable[[tuple[int, int, int]], int]) -> Iterator[dict[str, Any]]:
    """Run ``call(stdio)`` on a thread with /dev/null as stdin and pipes as stdout and stderr; yield
    ``{"kind": "stdout"|"stderr", "data"}`` as the bytes come (UTF-8 with surrogate escapes, so
    binary output survives the JSON) and last ``{"kind": "exit", "code"}``. An error of ``call``
    is raised after the output it made."""
    r_out, w_out = os.pipe2(os.O_CLOEXEC)
    r_err, w_err = os.pipe2(os.O_CLOEXEC)
    null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["code"] = call((null, w_out, w_err))
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            for fd in (w_out, w_err, null):
                os.close(fd)

    runner = threading.Thread(target=run, name="piped", daemon=True)
    runner.start()
    names = {r_out: "stdout", r_err: "stderr"}
    sel = selectors.DefaultSelector()
    try:
        for fd in names:
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            for key, _ in sel.select():
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fd)
                    continue
                yield {"kind": names[key.fd], "data": data.decode("utf-8", "surrogateescape")}
    finally:
        sel.close()
        os.close(r_out)
        os.close(r_err)
    runner.join()
    if "error" in outcome:
        raise outcome["error"]
    yield {"kind": "exit", "code": outcome["code"]}
