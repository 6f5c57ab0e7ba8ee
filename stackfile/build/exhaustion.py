"""A build step that runs out of a resource (disk, file descriptors, memory, pids) ends in an error
that names the step and says what ran out and what to do, never in ``OSError`` from deep inside."""

from __future__ import annotations

import errno
import sqlite3

from stackfile.errors import Location, Unavailable

__all__ = ["exhausted", "step_failed_hint"]

_HINTS = {
    errno.ENOSPC: ("the store's disk is full", "free space (stackfile system prune -a) or move the store "
                   "(--root) to a larger disk; the store is left as it was before the step"),
    errno.EDQUOT: ("the disk quota of the store is used up", "free space or raise the quota"),
    errno.EMFILE: ("too many open files in this process", "raise the limit (ulimit -n) and build again"),
    errno.ENFILE: ("the system's open-file table is full", "close programs or raise fs.file-max"),
    errno.ENOMEM: ("out of memory", "free memory or build fewer images at once"),
    errno.EAGAIN: ("a process or thread limit was reached", "raise the pids limit (ulimit -u, "
                   "kernel.pid_max) or build fewer images at once"),
}


def exhausted(exc: BaseException, step: str, root: str, location: Location | None) -> Unavailable | None:
    """The clear error for ``exc`` raised while running ``step``, or None if it is not exhaustion."""
    code = getattr(exc, "errno", None)
    if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
        code = errno.ENOSPC
    if not isinstance(exc, OSError | sqlite3.OperationalError) or code not in _HINTS:
        return None
    what, hint = _HINTS[code]
    where = f" ({root})" if code in (errno.ENOSPC, errno.EDQUOT) else ""
    return Unavailable(f"{step}: {what}{where}", location=location, hint=hint)


def step_failed_hint(tail: list[str], code: int = 1) -> str | None:
    """A hint for a RUN command that failed on its own because a resource ran out."""
    text = "\n".join(tail)
    if code == 137:  # SIGKILL: what the out-of-memory killer sends
        return ("the command was killed (SIGKILL), most often by the out-of-memory killer: give the "
                "build more memory or make the step use less")
    if "No space left on device" in text:
        return _HINTS[errno.ENOSPC][1]
    if "Too many open files" in text:
        return _HINTS[errno.EMFILE][1]
    if "Cannot allocate memory" in text or "Out of memory" in text:
        return "the step ran out of memory: raise the builder's memory or make the step use less"
    return None
