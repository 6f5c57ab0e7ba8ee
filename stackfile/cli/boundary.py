"""The one error boundary of every command: errors become a message and an exit code, never a
traceback (unless ``STACKFILE_DEBUG`` asks for one). Click-free, so the fast paths use it too;
``cli/main.py`` wraps click's own exceptions inside it."""

from __future__ import annotations

from stackfile.cli.term import echo

TYPE_CHECKING = False  # not typing's: the fast paths avoid importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["boundary"]


def boundary(action: Callable[[], int], environ: Mapping[str, str]) -> int:
    """Run ``action``; its exit code, or the error's after printing it."""
    from stackfile.errors import StackfileError

    try:
        return action()
    except StackfileError as exc:
        import sys

        loader = sys.modules.get("stackfile.spec.loader")  # a project was loaded: say where the key is
        if loader is not None:
            exc = loader.locate(exc)
        echo(f"error: {exc.render()}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if environ.get("STACKFILE_DEBUG"):
            raise
        echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        echo("hint: this is a bug in stackfile; rerun with STACKFILE_DEBUG=1 for the traceback", err=True)
        return 1
