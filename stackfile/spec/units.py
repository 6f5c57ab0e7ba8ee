"""Durations (Go syntax: ``1m30s``, ``1.5h``, ``500ms``) and byte sizes (``512m``, ``1gb``)."""

from __future__ import annotations

import re
from typing import Any

from stackfile.spec._lazyre import LazyPattern

__all__ = ["format_duration", "normalize_duration", "parse_duration", "parse_size"]

_UNITS_NS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "μs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_PART: Any = LazyPattern(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_SIZE: Any = LazyPattern(r"^([0-9]+(?:\.[0-9]+)?)\s*([kmgtpe]?)(i?b?)$", re.IGNORECASE)


def parse_duration(value: str | int | float) -> int:
    """Return nanoseconds; ``ValueError`` on anything Go's ``time.ParseDuration`` would refuse."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, int | float):
        return int(value * 10**9)
    text = value.strip()
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if text == "0":
        return 0
    pos, total = 0, 0.0
    while pos < len(text):
        m = _PART.match(text, pos)
        if not m or m.group(1) in ("", "."):
            raise ValueError(f"invalid duration {value!r} (use e.g. 30s, 1m30s, 500ms)")
        total += float(m.group(1)) * _UNITS_NS[m.group(2)]
        pos = m.end()
    if not text:
        raise ValueError(f"invalid duration {value!r} (use e.g. 30s, 1m30s, 500ms)")
    return sign * round(total)


def _frac(value: int, unit: int) -> str:
    whole, rest = divmod(value, unit)
    if not rest:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{str(rest).rjust(digits, '0').rstrip('0')}"


def format_duration(ns: int) -> str:
    """Go's ``time.Duration.String()``: ``1h0m0s``, ``1m30s``, ``1.5s``, ``500ms``."""
    if ns == 0:
        return "0s"
    sign, ns = ("-" if ns < 0 else ""), abs(ns)
    if ns < 10**3:
        return f"{sign}{ns}ns"
    if ns < 10**6:
        return f"{sign}{_frac(ns, 10**3)}µs"
    if ns < 10**9:
        return f"{sign}{_frac(ns, 10**6)}ms"
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    out = f"{_frac(rest, 10**9)}s"
    if hours:
        return f"{sign}{hours}h{minutes}m{out}"
    if minutes:
        return f"{sign}{minutes}m{out}"
    return sign + out


def normalize_duration(value: str | int | float) -> str:
    return format_duration(parse_duration(value))


def parse_size(value: str | int | float) -> int:
    """Bytes from ``1024``, ``512m``, ``1.5gb``, ``2GiB`` (binary multiples, like Docker)."""
    if isinstance(value, bool):
        raise ValueError(f"invalid size {value!r}")
    if isinstance(value, int | float):
        return int(value)
    m = _SIZE.match(value.strip())
    if not m:
        raise ValueError(f"invalid size {value!r} (use e.g. 512m, 1g, 1024)")
    power = " kmgtpe".index(m.group(2).lower() or " ")
    return int(float(m.group(1)) * 1024**power)
