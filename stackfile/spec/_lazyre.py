"""Regular expressions compiled on first use, so importing the loader does not pay for them."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["LazyPattern", "compile_now"]

compile_now = re.compile


class LazyPattern:
    """Stands in for ``re.compile(pattern, flags)``; compiles on the first attribute access."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, *args: Any) -> None:
        self._args = args
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            self._compiled = compile_now(*self._args)
        return getattr(self._compiled, name)
