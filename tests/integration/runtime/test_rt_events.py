"""Container lifecycle events reach the store's journal from where they happen: the runtime
(create, kill, stop, restart, pause, unpause, destroy) and the shim (start, die with the exit code,
a policy restart's new start)."""

from __future__ import annotations

import time

from stackfile.runtime.api import Resources, RestartPolicy
from stackfile.store import journal
from tests.conftest import needs_root
from tests.integration.runtime.rtsupport import Env

pytestmark = needs_root


def _actions(env: Env, cid: str) -> list[tuple[str, dict[str, str]]]:
    return [(str(e["Action"]), e["Actor"]["Attributes"]) for e in journal.read(env.paths.root_str)  # type: ignore[index]
            if e["Actor"]["ID"] == cid]  # type: ignore[index]


def test_lifecycle_is_journalled_in_order(env: Env) -> None:
    cid = env.rt.create(env.spec("sleep 30", name="ev-life", labels={"team": "a"}), image="busybox")
    env.rt.start(cid)
    env.rt.pause(cid)
    env.rt.unpause(cid)
    env.rt.restart(cid, timeout=0.2)
    env.rt.stop(cid, timeout=0.2)
    env.rt.remove(cid)
    events = _actions(env, cid)
    names = [a for a, _ in events]
    assert names == ["create", "start", "pause", "unpause", "kill", "kill", "die", "stop", "start", "restart",
                     "kill", "kill", "die", "stop", "destroy"], names
    first = events[0][1]
    assert first == {"team": "a", "image": "busybox", "name": "ev-life"}
    assert events[4][1]["signal"] == "15" and events[5][1]["signal"] == "9"
    assert events[6][1]["exitCode"] == "137"


def test_policy_restart_and_oom_come_from_the_shim(env: Env) -> None:
    cid = env.rt.create(env.spec("exit 3", name="ev-policy", restart=RestartPolicy("on-failure", 2)))
    env.rt.start(cid)
    assert env.rt.wait(cid, timeout=30) == 3
    names = [a for a, _ in _actions(env, cid)]
    assert names == ["create", "start", "die", "start", "die", "start", "die"]
    assert {attrs["exitCode"] for a, attrs in _actions(env, cid) if a == "die"} == {"3"}
    env.rt.remove(cid)

    hog = env.rt.create(env.spec("x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo $x",
                                 name="ev-oom", resources=Resources(memory=16 << 20, memory_swap=16 << 20)))
    env.rt.start(hog)
    env.rt.wait(hog, timeout=60)
    deadline = time.monotonic() + 5
    while "die" not in [a for a, _ in _actions(env, hog)] and time.monotonic() < deadline:
        time.sleep(0.05)
    names = [a for a, _ in _actions(env, hog)]
    assert env.rt.inspect(hog).oom_killed
    assert names == ["create", "start", "oom", "die"]
    env.rt.remove(hog)
