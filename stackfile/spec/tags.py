"""Value wrappers for the Compose merge tags ``!reset`` and ``!override``.

The parser wraps a tagged node's value; the merge stage honours them and :func:`strip_tags`
removes whatever remains once every file has been merged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Override", "Reset", "strip_tags"]


@dataclass
class Reset:
    """``!reset``: drop the value inherited from earlier files (the key disappears)."""

    value: Any = None


@dataclass
class Override:
    """``!override``: replace the inherited value instead of merging with it."""

    value: Any = None


def strip_tags(value: Any) -> Any:
    """Return ``value`` without tag wrappers: ``Reset`` entries vanish, ``Override`` unwraps."""
    if isinstance(value, Override):
        return strip_tags(value.value)
    if isinstance(value, dict):
        return {k: strip_tags(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [strip_tags(v) for v in value if not isinstance(v, Reset)]
    return value
