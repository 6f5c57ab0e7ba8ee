"""``logs --since/--until`` values read as Docker reads them, and Compose's error for the rest."""

from __future__ import annotations

import pytest

from stackfile.engine.log_time import parse_log_time, rfc3339_ns
from stackfile.errors import InvalidSpec

NOW = 1_765_000_000 * 10**9


@pytest.mark.parametrize(("value", "expected"), [
    ("42m", rfc3339_ns(NOW - 42 * 60 * 10**9)),
    ("1h30m", rfc3339_ns(NOW - 90 * 60 * 10**9)),
    ("1700000000", "2023-11-14T22:13:20.000000000Z"),
    ("1700000000.25", "2023-11-14T22:13:20.250000000Z"),
    ("2026-01-02T15:04:05Z", "2026-01-02T15:04:05.000000000Z"),
    ("2026-01-02T15:04:05.123456789Z", "2026-01-02T15:04:05.123456789Z"),
    ("2026-01-02T15:04:05+02:00", "2026-01-02T13:04:05.000000000Z"),
])
def test_docker_time_values(value: str, expected: str) -> None:
    assert parse_log_time(value, now_ns=NOW) == expected


def test_nothing_is_none() -> None:
    assert parse_log_time(None) is None and parse_log_time("") is None


@pytest.mark.parametrize("value", ["garbage", "2026-13-01", "1.2.3", "yesterday"])
def test_anything_else_is_composes_error(value: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_log_time(value, "until")
    assert caught.value.message == (f'invalid value for "until": failed to parse value as time or duration: '
                                    f'"{value}"')
