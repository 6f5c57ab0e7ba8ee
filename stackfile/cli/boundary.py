"""The one error boundary of every command: errors become a message and an exit code, never a
traceback (unless ``STACKFILE_DEBUG`` asks for one). Click-free, so the fast paths use it too;
``cli/main.py`` wraps click's own exceptions inside it."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: the fast paths avoid importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["boundary"]


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def boundary(action: Callable[[], int], environ: Mapping[str, str]) -> int:
    """Run ``action``; its exit code, or the error's after printing it."""
    from stackfile.errors import StackfileError

    try:
        return action()
    except StackfileError as exc:
        _err(f"error: {exc.render()}")
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if environ.get("STACKFILE_DEBUG"):
            raise
        _err(f"internal error: {type(exc).__name__}: {exc}")
        _err("hint: this is a bug in stackfile; rerun with STACKFILE_DEBUG=1 for the traceback")
        return 1
