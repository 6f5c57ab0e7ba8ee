"""The runtime's start error (kept apart from the ctypes-heavy launcher so callers import it cheaply)."""

from __future__ import annotations

from stackfile.errors import InvalidSpec

__all__ = ["StartFailed"]

_HINTS = {127: "check the command name and the image's PATH",
          126: "check the file's permissions and that it is a program for this architecture"}


class StartFailed(InvalidSpec):
    """A container or exec process could not start; ``code`` is what Docker exits with (125/126/127)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message, hint=_HINTS.get(code))
        self.code = code

    @property
    def exit_code(self) -> int:
        """Docker's code (125/126/127) rather than the invalid-spec category's, wherever it surfaces."""
        return self.code
