"""``events``' filters and time window, as Docker reads them: one key's values are alternatives,
different keys must all match; unknown keys and types are refused naming the valid ones."""

from __future__ import annotations

import pytest

from stackfile.engine.events import EngineEvent, matches, parse_filters, parse_time
from stackfile.errors import InvalidSpec

WEB = EngineEvent("container", "health_status: healthy", "a" * 64,
                  {"name": "p-web-1", "image": "app", "io.stackfile.project": "p",
                   "io.stackfile.service": "web", "tier": "front"}, 10**18)
NET = EngineEvent("network", "connect", "n" * 64,
                  {"name": "p_default", "container": "p-web-1", "type": "bridge"}, 10**18)


@pytest.mark.parametrize(("flags", "web", "net"), [
    ([], True, True),
    (["type=container"], True, False),
    (["type=container", "type=network"], True, True),
    (["event=health_status"], True, False),
    (["event=health_status: healthy"], True, False),
    (["event=connect"], False, True),
    (["container=p-web-1"], True, True),  # the network event names the container it connected
    (["container=aaaa"], True, False),
    (["image=app"], True, False),
    (["label=tier"], True, False),
    (["label=tier=back"], False, False),
    (["network=p_default"], False, True),
    (["project=p", "service=web"], True, False),
    (["type=container", "event=connect"], False, False),
])
def test_filters(flags: list[str], web: bool, net: bool) -> None:
    parsed = parse_filters(flags)
    assert (matches(WEB, parsed), matches(NET, parsed)) == (web, net)


def test_bad_filters_are_refused_with_the_valid_keys() -> None:
    with pytest.raises(InvalidSpec) as err:
        parse_filters(["colour=red"])
    assert "colour=red" in err.value.message and "container" in (err.value.hint or "")
    with pytest.raises(InvalidSpec) as err:
        parse_filters(["type=plugin"])
    assert "volume" in (err.value.hint or "")
    with pytest.raises(InvalidSpec):
        parse_filters(["type"])


def test_times() -> None:
    assert parse_time("1700000000.5", "since") == 1_700_000_000_500_000_000
    assert parse_time("2026-01-02T03:04:05Z", "since") == 1_767_323_045 * 10**9
    assert parse_time(None, "since") is None
    with pytest.raises(InvalidSpec):
        parse_time("yesterday-ish", "until")


def test_docker_shape_round_trips() -> None:
    message = WEB.to_docker()
    assert message["status"] == WEB.action and message["from"] == "app" and message["time"] == 10**9
    assert EngineEvent.from_journal(message) == WEB
    assert "status" not in NET.to_docker()
