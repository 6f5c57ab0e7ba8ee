"""Restart policies with real containers: the backoff between attempts, a stop during the backoff,
PID 1 killed (restarted) against the shim killed (not: nothing supervises it any more), and
``always`` against ``unless-stopped``, which behave alike here because stackfile has no daemon whose
restart could tell them apart (Docker restarts only ``always`` containers that were stopped when the
daemon comes back)."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime
from itertools import pairwise

import pytest

from stackfile.runtime.api import ContainerState, RestartPolicy
from stackfile.runtime.linux.state import proc_start_time
from stackfile.runtime.linux.supervise import backoff
from tests.conftest import needs_root
from tests.integration.runtime.rtsupport import Env

pytestmark = needs_root


def wait_for(check, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _seconds(stamp: str) -> float:
    """An RFC 3339 time with nanoseconds (log lines) as epoch seconds."""
    head, _, frac = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "+00:00").timestamp() + float("0." + (frac or "0"))


def test_backoff_grows_between_attempts(env: Env) -> None:
    """Each restart waits at least the backoff's delay, doubling from 100 ms (lower bounds only:
    load can lengthen a gap, never shorten it)."""
    cid = env.rt.create(env.spec("echo run; exit 1", restart=RestartPolicy("on-failure", 4)))
    try:
        env.rt.start(cid)
        assert env.rt.wait(cid, timeout=30) == 1
        status = env.rt.inspect(cid)
        assert status.restart_count == 4 and status.state is ContainerState.EXITED
        times = [_seconds(line.time) for line in env.rt.logs(cid)]
        assert len(times) == 5
        gaps = [b - a for a, b in pairwise(times)]
        delays, attempt = [], 0
        for _ in gaps:
            delay, attempt = backoff(attempt, 0.0)
            delays.append(delay)
        assert delays == [0.1, 0.2, 0.4, 0.8]
        for gap, delay in zip(gaps, delays, strict=True):
            assert gap >= delay, (gaps, delays)
    finally:
        env.rt.remove(cid, force=True)


def test_stop_during_the_backoff_ends_the_restarts(env: Env) -> None:
    cid = env.rt.create(env.spec("echo run; exit 1", restart=RestartPolicy("always")))
    try:
        env.rt.start(cid)
        wait_for(lambda: env.rt.inspect(cid).restart_count >= 4)  # delays now 0.8 s and longer
        wait_for(lambda: env.rt.inspect(cid).state is ContainerState.RESTARTING)
        env.rt.stop(cid, timeout=1)
        status = env.rt.inspect(cid)
        assert status.state is ContainerState.EXITED
        count = status.restart_count
        time.sleep(2 * backoff(4, 0.0)[0])  # longer than the backoff it was in
        assert env.rt.inspect(cid).restart_count == count
        assert env.rt.inspect(cid).state is ContainerState.EXITED
    finally:
        env.rt.remove(cid, force=True)


def test_killed_pid1_is_restarted_a_killed_shim_is_not(env: Env) -> None:
    cid = env.rt.create(env.spec("sleep", "1000", restart=RestartPolicy("always")))
    try:
        env.rt.start(cid)
        first = env.rt.inspect(cid).pid
        assert first is not None
        os.kill(first, signal.SIGKILL)  # the container's own process dies: the policy restarts it
        wait_for(lambda: env.rt.inspect(cid).restart_count == 1
                 and env.rt.inspect(cid).state is ContainerState.RUNNING)
        second = env.rt.inspect(cid).pid
        assert second not in (None, first)
        shim = json.loads((env.paths.container(cid) / "state.json").read_text())["supervisor"]
        os.kill(shim, signal.SIGKILL)  # the supervisor dies: nobody is left to apply the policy
        wait_for(lambda: env.rt.inspect(cid).state is ContainerState.DEAD)
        assert env.rt.inspect(cid).restart_count == 1
        env.rt.start(cid)  # a new shim; the orphaned PID 1 is ended first, the policy applies again
        wait_for(lambda: proc_start_time(second) == 0)
        third = env.rt.inspect(cid).pid
        assert third is not None and env.rt.inspect(cid).state is ContainerState.RUNNING
        os.kill(third, signal.SIGKILL)
        wait_for(lambda: env.rt.inspect(cid).state is ContainerState.RUNNING and env.rt.inspect(cid).pid
                 not in (None, third))
    finally:
        env.rt.remove(cid, force=True)


@pytest.mark.parametrize("name", ["always", "unless-stopped"])
def test_always_and_unless_stopped_alike(env: Env, name: str) -> None:
    """Both restart after any exit, stay down after a stop, and resume the policy after a start."""
    cid = env.rt.create(env.spec("echo run; exit 0", restart=RestartPolicy(name)))  # type: ignore[arg-type]
    try:
        env.rt.start(cid)
        wait_for(lambda: env.rt.inspect(cid).restart_count >= 1)  # exit 0 restarts too
        env.rt.stop(cid, timeout=1)
        stopped = env.rt.inspect(cid).restart_count
        time.sleep(2 * backoff(stopped, 0.0)[0])
        assert env.rt.inspect(cid).state is ContainerState.EXITED
        assert env.rt.inspect(cid).restart_count == stopped
        env.rt.start(cid)
        wait_for(lambda: env.rt.inspect(cid).restart_count > stopped)
    finally:
        env.rt.remove(cid, force=True)
