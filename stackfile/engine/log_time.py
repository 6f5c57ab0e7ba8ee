"""``--since`` / ``--until`` of ``logs``: Docker's time values (a duration back from now, RFC 3339,
a date, a Unix timestamp) as the RFC 3339 UTC nanosecond text the runtime's log lines carry."""

from __future__ import annotations

import re
import time

from stackfile.errors import InvalidSpec

__all__ = ["parse_log_time", "rfc3339_ns"]

_UNIX = re.compile(r"\d+(\.\d{1,9})?")
_FRACTION = re.compile(r"\.(\d{1,9})")


def rfc3339_ns(ns: int) -> str:
    """``2026-01-02T15:04:05.123456789Z`` for ``ns`` nanoseconds since the epoch."""
    seconds, frac = divmod(ns, 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}Z"


def parse_log_time(value: str | None, flag: str = "since", now_ns: int | None = None) -> str | None:
    """``value`` as Docker reads it (``GetTimestamp``): a duration back from now (``42m``,
    ``1h30m``), an RFC 3339 time or a date (local time without a zone), or a Unix timestamp.
    Anything else is Compose's error ``invalid value for "since": failed to parse value as time or
    duration: "garbage"``."""
    if not value:
        return None
    from stackfile.spec.units import parse_duration

    now_ns = time.time_ns() if now_ns is None else now_ns
    text = value.strip()
    if text != "0":
        try:
            return rfc3339_ns(now_ns - parse_duration(text))
        except ValueError:
            pass
    if _UNIX.fullmatch(text):
        whole, _, frac = text.partition(".")
        return rfc3339_ns(int(whole) * 10**9 + int((frac + "000000000")[:9]))
    stamp = _iso_ns(text)
    if stamp is None:
        raise InvalidSpec(f'invalid value for "{flag}": failed to parse value as time or duration: "{value}"',
                          hint="a duration back from now (42m, 1h30m), an RFC 3339 time "
                               "(2026-01-02T15:04:05Z), a date (2026-01-02) or a Unix timestamp")
    return rfc3339_ns(stamp)


def _iso_ns(text: str) -> int | None:
    """Nanoseconds of an ISO 8601 / RFC 3339 time (a naive one is local time), None if it is not one."""
    from datetime import datetime

    if not text[:4].isdigit() or "-" not in text:
        return None
    match = _FRACTION.search(text)
    nanos = int((match.group(1) + "000000000")[:9]) if match else 0
    bare = _FRACTION.sub("", text, count=1) if match else text
    try:
        moment = datetime.fromisoformat(bare.replace("z", "Z"))
    except ValueError:
        return None
    return int(moment.timestamp()) * 10**9 + nanos
