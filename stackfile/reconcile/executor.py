"""Apply a :class:`Plan`: every action as soon as its dependencies are done, in parallel threads.

The executor carries no decision logic: the engine gives it one handler per action kind and it
only schedules, reports (typed events) and stops dependents of a failed action. A failed wait that
is not ``required`` (``depends_on.required: false``) is a warning and its dependents still run.

Ctrl-C starts nothing more, sets ``cancel`` (so a handler that waits, on a health check or on a
container to complete, gives up at once), lets the running actions finish and re-raises; a second
Ctrl-C does not wait for them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from queue import SimpleQueue

from stackfile.errors import Location, StackfileError
from stackfile.events import Event, EventSink, discard
from stackfile.reconcile.plan import Action, Kind, Plan

__all__ = ["ActionEvent", "Cancelled", "ExecutionResult", "Handler", "execute"]

Handler = Callable[[Action], None]


class Cancelled(StackfileError):
    """A handler stopped waiting because the plan was cancelled (Ctrl-C)."""


@dataclass(frozen=True)
class ActionEvent(Event):
    """An action's progress: ``kind`` is ``action.start|done|failed|skipped|warn``."""

    action: Action | None = None
    elapsed: float = 0.0
    error: str = ""


@dataclass
class ExecutionResult:
    """What happened: keys of done actions, failures (key -> error) and skipped keys (-> reason)."""

    done: list[str] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped

    def raise_for_failure(self, plan: Plan) -> None:
        """Raise the first failure (in plan order), in the user's words (``service "web": ...``,
        located at the service's key), with the others and the skipped ones as detail."""
        if self.ok:
            return
        order = [a.key for a in plan.ordered()]
        first_key = min(self.failed, key=order.index) if self.failed else ""
        lines = [_said(plan.actions[k], _message(self.failed[k])) for k in order
                 if k in self.failed and k != first_key]
        failed = {plan.actions[k].subject for k in self.failed}
        skipped = [plan.actions[k] for k in order if k in self.skipped]
        lines += [f"{a.subject}: {_not_done(a)}, {self.skipped[a.key]}" for a in skipped
                  if a.subject not in failed]
        detail = "\n".join(dict.fromkeys(lines)) or None
        if first_key:
            err = self.failed[first_key]
            action = plan.actions[first_key]
            if isinstance(err, StackfileError):
                err.message = _said(action, err.message)
                err.detail = "\n".join(filter(None, [err.detail, detail])) or None
                if action.key_path and (err.location is None or not err.location.key_path):
                    err.with_location(Location(key_path=action.key_path))  # a more precise one stays
                raise err
            raise StackfileError(_said(action, f"{type(err).__name__}: {err}"), detail=detail) from err
        raise StackfileError("some actions were not done", detail=detail)


def _not_done(action: Action) -> str:
    starts = (Kind.CREATE_CONTAINER, Kind.RECREATE_CONTAINER, Kind.START_CONTAINER, Kind.RESTART_CONTAINER)
    return "not started" if action.kind in starts else "not done"


def _message(err: BaseException) -> str:
    return err.message if isinstance(err, StackfileError) else f"{type(err).__name__}: {err}"


def _said(action: Action, message: str) -> str:
    """``message`` prefixed with the action's subject, unless it already names it."""
    name = action.subject.split(" ", 1)[1].strip('"')
    if f"{action.subject.split(' ', 1)[0]} {name!r}" in message or action.subject in message:
        return message
    return f"{action.subject}: {message}"


def execute(plan: Plan, handlers: Mapping[Kind, Handler], *, sink: EventSink = discard,
            workers: int = 8, cancel: threading.Event | None = None) -> ExecutionResult:
    """Run ``plan`` with ``handlers``; never raises for a failed action (see the result).

    An interrupt (Ctrl-C) sets ``cancel``, the event the handlers that wait watch, and is re-raised
    once the running actions have ended.

    Each action runs in a thread of its own (at most ``workers`` at once) that reports to one
    queue; threads rather than ``concurrent.futures``, whose import (with ``logging``) cost ~4 ms
    of every ``up``."""
    result = ExecutionResult()
    plan.graph.check_acyclic()
    pending = {k: set(plan.graph.dependencies(k)) for k in plan.actions}
    priority = _critical_path(plan)
    done: SimpleQueue[tuple[str, BaseException | None]] = SimpleQueue()
    threads: list[threading.Thread] = []
    running = 0
    workers = max(1, workers)
    try:
        while pending or running:
            ready = sorted((k for k, deps in pending.items() if not deps), key=lambda k: (-priority[k], k))
            for key in ready[: workers - running]:
                del pending[key]
                thread = threading.Thread(target=_report, args=(plan.actions[key], handlers, sink, done),
                                          name=f"plan-{key}", daemon=True)
                threads.append(thread)
                thread.start()
                running += 1
            if not running:
                break
            key, error = done.get()
            running -= 1
            action = plan.actions[key]
            if error is None or not action.required:
                if error is not None:
                    result.warnings.append(_said(action, _message(error)))
                result.done.append(key)
                for deps in pending.values():
                    deps.discard(key)
            else:
                result.failed[key] = error
                _skip_dependents(plan, key, pending, result, sink)
    except BaseException:  # Ctrl-C: let the running actions finish (a second one does not wait)
        if cancel is not None:
            cancel.set()
        for thread in threads:
            if thread.ident is not None:
                thread.join()
        raise
    return result


def _report(action: Action, handlers: Mapping[Kind, Handler], sink: EventSink,
            done: SimpleQueue[tuple[str, BaseException | None]]) -> None:
    try:
        _run(action, handlers, sink)
    except BaseException as exc:  # handed to the scheduler, which decides
        done.put((action.key, exc))
    else:
        done.put((action.key, None))


def _critical_path(plan: Plan) -> dict[str, int]:
    """Each action's longest chain of dependents: the ready action with the longest one runs first,
    so a dependency chain (start s1 -> s2 -> ...) is never queued behind independent work."""
    height: dict[str, int] = {}
    for level in reversed(plan.graph.levels()):
        for key in level:
            height[key] = 1 + max((height[d] for d in plan.graph.dependents(key)), default=0)
    return height


def _run(action: Action, handlers: Mapping[Kind, Handler], sink: EventSink) -> None:
    handler = handlers.get(action.kind)
    if handler is None:
        raise StackfileError(f"no handler for {action.kind.value}")
    sink(ActionEvent("action.start", f"{action.target} {action.kind.value}", action=action))
    t0 = time.perf_counter()
    try:
        handler(action)
    except BaseException as exc:
        kind = "action.failed" if action.required else "action.warn"
        sink(ActionEvent(kind, f"{action.target}: {exc}", action=action,
                         elapsed=time.perf_counter() - t0, error=str(exc)))
        raise
    sink(ActionEvent("action.done", f"{action.target} {action.kind.value}", action=action,
                     elapsed=time.perf_counter() - t0))


def _skip_dependents(plan: Plan, failed: str, pending: dict[str, set[str]], result: ExecutionResult,
                     sink: EventSink) -> None:
    """Skip what needs ``failed``; an action that only waits on it (a soft edge) still runs."""
    todo = [failed]
    while todo:
        key = todo.pop()
        for dependent in plan.graph.dependents(key):
            if (dependent, key) in plan.soft and dependent in pending:
                pending[dependent].discard(key)
                result.warnings.append(f"{plan.actions[dependent].subject}: started although "
                                       f"{plan.actions[failed].subject} failed (required: false)")
                continue
            if dependent in pending:
                del pending[dependent]
                why = f"{plan.actions[failed].subject} failed"
                result.skipped[dependent] = why
                action = plan.actions[dependent]
                sink(ActionEvent("action.skipped", f"{action.target}: {why}", action=action, error=why))
                todo.append(dependent)
