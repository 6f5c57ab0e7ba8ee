"""Value wrappers for the Compose merge tags ``!reset`` and ``!override``.

The parser wraps a tagged node's value; the merge stage honours them and :func:`strip_tags`
removes whatever remains once every file has been merged.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Override", "Reset", "strip_tags"]


class _Tagged:
    __slots__ = ("value",)

    def __init__(self, value: Any = None) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Tagged) and type(other) is type(self) and other.value == self.value

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.value)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


class Reset(_Tagged):
    """``!reset``: drop the value inherited from earlier files (the key disappears)."""


class Override(_Tagged):
    """``!override``: replace the inherited value instead of merging with it."""


def strip_tags(value: Any) -> Any:
    """Return ``value`` without tag wrappers: ``Reset`` entries vanish, ``Override`` unwraps."""
    if isinstance(value, Override):
        return strip_tags(value.value)
    if isinstance(value, dict):
        return {k: strip_tags(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [strip_tags(v) for v in value if not isinstance(v, Reset)]
    return value
