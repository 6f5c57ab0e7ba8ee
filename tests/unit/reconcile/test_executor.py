"""The executor schedules, parallelises and stops dependents of failures; handlers are real callables."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from stackfile.errors import StackfileError, Unavailable
from stackfile.events import Event
from stackfile.reconcile.executor import Cancelled, execute
from stackfile.reconcile.plan import Action, Kind, Plan


def make_plan() -> Plan:
    p = Plan()
    net = p.add(Action("network:n", Kind.CREATE_NETWORK, "not found"))
    a = p.add(Action("service:a:1", Kind.CREATE_CONTAINER, "no existing container", service="a"), [net])
    b = p.add(Action("service:b:1", Kind.CREATE_CONTAINER, "no existing container", service="b"), [net])
    w = p.add(Action("service:a", Kind.WAIT_HEALTHY, "c depends on it", service="a"), [a])
    p.add(Action("service:c:1", Kind.CREATE_CONTAINER, "no existing container", service="c"), [w, b])
    return p


def test_runs_in_dependency_order_and_in_parallel() -> None:
    """No timing: a and b meet at a barrier, which only a parallel executor can pass (a sequential
    one breaks it after 30 s and the two actions fail); the log order checks the dependencies."""
    log: list[str] = []
    lock = threading.Lock()
    together = threading.Barrier(2, timeout=30)

    def handler(action: Action) -> None:
        if action.kind is Kind.CREATE_CONTAINER and action.service in ("a", "b"):
            together.wait()
        with lock:
            log.append(action.target + "/" + action.kind.value)

    events: list[Event] = []
    result = execute(make_plan(), dict.fromkeys(Kind, handler), sink=events.append)
    assert result.ok and len(result.done) == 5, result.failed
    assert log[0] == "network:n/CreateNetwork" and log[-1] == "service:c:1/CreateContainer"
    assert log.index("service:a/WaitHealthy") > log.index("service:a:1/CreateContainer")
    assert log.index("service:c:1/CreateContainer") > log.index("service:b:1/CreateContainer")
    assert [e.kind for e in events].count("action.done") == 5


def test_a_sequential_pair_cannot_pass_the_barrier() -> None:
    """The barrier of the test above can fail: a and b in a chain never meet."""
    p = Plan()
    a = p.add(Action("service:a:1", Kind.CREATE_CONTAINER, "x", service="a"))
    p.add(Action("service:b:1", Kind.CREATE_CONTAINER, "x", service="b"), [a])
    together = threading.Barrier(2, timeout=0.2)
    result = execute(p, dict.fromkeys(Kind, lambda action: together.wait()))
    assert not result.ok and list(result.failed) == ["service:a:1/CreateContainer"]


def test_failure_skips_dependents_only() -> None:
    ran: list[str] = []

    def handler(action: Action) -> None:
        if action.target == "service:a:1":
            raise Unavailable("boom")
        ran.append(action.target)

    p = make_plan()
    result = execute(p, dict.fromkeys(Kind, handler))
    assert sorted(ran) == ["network:n", "service:b:1"]
    assert list(result.failed) == ["service:a:1/CreateContainer"]
    assert sorted(result.skipped) == ["service:a/WaitHealthy", "service:c:1/CreateContainer"]
    with pytest.raises(Unavailable) as err:
        result.raise_for_failure(p)
    assert err.value.message == 'service "a": boom'
    assert err.value.location is not None and err.value.location.key_path == "services.a"
    assert err.value.detail == 'service "c": not started, service "a" failed'  # a's own wait: not repeated


def test_non_required_wait_failure_is_a_warning() -> None:
    p = Plan()
    w = p.add(Action("service:a", Kind.WAIT_HEALTHY, "b depends on it", service="a", required=False))
    p.add(Action("service:b:1", Kind.CREATE_CONTAINER, "x", service="b"), [w])
    ran: list[str] = []

    def handler(action: Action) -> None:
        if action.kind is Kind.WAIT_HEALTHY:
            raise StackfileError("a is unhealthy")
        ran.append(action.target)

    result = execute(p, dict.fromkeys(Kind, handler))
    assert result.ok and ran == ["service:b:1"]
    assert result.warnings == ['service "a": a is unhealthy']


def test_missing_handler_fails_that_action() -> None:
    p = Plan()
    p.add(Action("image:x", Kind.BUILD_IMAGE, "not found"))
    result = execute(p, {})
    assert "no handler for BuildImage" in str(result.failed["image:x/BuildImage"])


def test_soft_edge_orders_but_does_not_stop() -> None:
    p = Plan()
    dep = p.add(Action("service:cache:1", Kind.START_CONTAINER, "new container", service="cache"))
    p.add(Action("service:web:1", Kind.START_CONTAINER, "new container", service="web"), soft=[dep])
    ran: list[str] = []

    def handler(action: Action) -> None:
        if action.service == "cache":
            raise StackfileError("cache would not start")
        ran.append(action.target)

    result = execute(p, dict.fromkeys(Kind, handler))
    assert ran == ["service:web:1"] and list(result.failed) == ["service:cache:1/StartContainer"]
    assert result.skipped == {}
    assert result.warnings == ['service "web": started although service "cache" failed (required: false)']


def test_ctrl_c_cancels_the_waits_lets_running_actions_end_and_starts_nothing_more() -> None:
    """SIGINT while a wait blocks: ``cancel`` is set, the wait gives up, the create that runs
    beside it ends, the dependent (c) never starts, and KeyboardInterrupt reaches the caller."""
    ran: list[str] = []
    cancel = threading.Event()
    lock = threading.Lock()

    def handler(action: Action) -> None:
        if action.kind is Kind.WAIT_HEALTHY:
            threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
            if not cancel.wait(30):  # never healthy: only the cancel ends it
                raise AssertionError("the wait was not cancelled")
            raise Cancelled("stopped waiting")
        if action.target == "service:b:1":  # still running when Ctrl-C comes (no timing): it is let finish
            assert cancel.wait(30), "Ctrl-C never came"
        with lock:
            ran.append(action.target)

    p = Plan()
    a = p.add(Action("service:a:1", Kind.CREATE_CONTAINER, "no existing container", service="a"))
    w = p.add(Action("service:a", Kind.WAIT_HEALTHY, "c depends on it", service="a"), [a])
    p.add(Action("service:b:1", Kind.CREATE_CONTAINER, "no existing container", service="b"))
    p.add(Action("service:c:1", Kind.CREATE_CONTAINER, "no existing container", service="c"), [w])
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        execute(p, dict.fromkeys(Kind, handler), cancel=cancel)
    assert cancel.is_set()
    assert sorted(ran) == ["service:a:1", "service:b:1"]
    assert time.monotonic() - started < 10  # not a speed check: an uncancelled wait blocks for 30 s
