"""``attach``: a running container's output from now on, until it exits (or the caller detaches).

The shim owns the container's stdio and writes its output to the log; attaching follows that log
from the moment of the call, as ``docker attach`` shows only what comes after. A container made
with ``stdin_open`` (``-i``) reads a FIFO its shim holds open (and copies to its pty when it has
one); attaching writes what is typed there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stackfile.engine.containers import runtime
from stackfile.errors import Conflict, InvalidSpec, Location
from stackfile.runtime.api import ContainerStatus, LogLine
from stackfile.store.paths import StorePaths

__all__ = ["DEFAULT_DETACH_KEYS", "attach_output", "exit_code", "open_stdin", "parse_detach_keys", "running",
           "service_container", "signal"]

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


def parse_detach_keys(text: str) -> bytes:
    """Docker's ``--detach-keys``: comma-separated ``ctrl-<x>`` (x a letter or one of ``@[\\]^_``)
    or single characters; ``ctrl-p,ctrl-q`` is ``b"\\x10\\x11"``."""
    out = bytearray()
    for key in text.split(","):
        if len(key) == 1:
            out.append(ord(key))
        elif key.lower().startswith("ctrl-") and len(key) == 6 and (key[5].isalpha() or key[5] in "@[\\]^_"):
            out.append(ord(key[5].upper()) & 0x1f)
        else:
            raise InvalidSpec(f"invalid detach key {key!r}", location=Location(key_path="--detach-keys"),
                              hint="a letter, or ctrl-<letter> / ctrl-@ ctrl-[ ctrl-\\ ctrl-] ctrl-^ ctrl-_, "
                                   "comma-separated (default ctrl-p,ctrl-q)")
    return bytes(out)


def running(paths: StorePaths, ref: str) -> ContainerStatus:
    """The container to attach to; a Conflict when it does not run (Docker's message)."""
    status = runtime(paths).inspect(ref)
    if status.state.value not in ("running", "paused", "restarting"):
        raise Conflict("you cannot attach to a stopped container, start it first")
    return status


def service_container(opts: Any, service: str, index: int = 1) -> tuple[StorePaths, ContainerStatus]:
    """(store paths, container) of the running replica ``index`` of a project's ``service``."""
    from stackfile.engine.project_ops import _ctx, _one_container
    from stackfile.events import discard

    ctx = _ctx(opts, discard)
    return ctx.paths, _one_container(ctx, service, index)


def attach_output(paths: StorePaths, container_id: str) -> Iterator[LogLine]:
    """The container's output from now on, until it has exited for good."""
    from stackfile.runtime.linux.state import now_rfc3339

    return runtime(paths).logs(container_id, follow=True, since=now_rfc3339())


def open_stdin(paths: StorePaths, container_id: str) -> tuple[int | None, bool]:
    """(a write fd on the container's stdin or None when it has none open, whether it has a tty)."""
    rt = runtime(paths)
    return rt.open_stdin(container_id), rt.spec_of(container_id).process.tty


def signal(paths: StorePaths, container_id: str, name: str) -> None:
    """Send a signal to the container's PID 1 (``--sig-proxy``); gone already is fine."""
    try:
        runtime(paths).kill(container_id, name)
    except Conflict:
        pass


def exit_code(paths: StorePaths, container_id: str) -> int:
    """The code the container exited with (0 while it still runs: the caller detached)."""
    status = runtime(paths).inspect(container_id)
    return status.exit_code or 0 if status.state.value in ("exited", "dead") else 0
