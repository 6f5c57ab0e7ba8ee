"""A watch session: observer → ignore rules → adaptive debounce → one worker per service.

Each service has its own worker thread, so a slow rebuild of one service never delays a sync of
another. A service's actions run one at a time; plans that arrive while one runs are merged into
a single next plan, so a burst of saves during a restart gives one more restart, not a storm.
Syncs run at once (a split burst costs a second cheap sync); a plan that restarts or rebuilds is
first *held* until the watched trees have been quiet for a while, because a ``git checkout`` can
pause for tens of milliseconds in the middle of rewriting a thousand files. Quiet means no event at
all, ignored ones included: git's own writes under ``.git/`` continue until the checkout is done.
The hold is :attr:`Hold.base` after an editor's save and grows with the files of the plan (a bulk
change), up to :attr:`Hold.cap`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stackfile.errors import Location, NotFound
from stackfile.events import EventSink, discard
from stackfile.watch.actions import ActionTarget, ServicePlan, SyncOp, apply_sync, merge, plan_batch, run_plan
from stackfile.watch.debounce import Debouncer, Window
from stackfile.watch.events import WatchFailed, WatchNotice, WatchStarted, WatchSynced
from stackfile.watch.observer import Change, TreeObserver
from stackfile.watch.rules import SYNC_ACTIONS, WatchRule
from stackfile.watch.sync import ContainerRoot

__all__ = ["Hold", "WatchSession"]


@dataclass(frozen=True)
class Hold:
    """How long a restart or rebuild waits for its service's changes to stop, in seconds."""

    base: float = 0.05
    per_file: float = 0.002
    cap: float = 0.3

    def after(self, files: int) -> float:
        return min(self.cap, self.base + self.per_file * max(files - 1, 0))


class _Worker:
    """Runs one service's plans in order, merging those that wait."""

    def __init__(self, service: str, target: ActionTarget, sink: EventSink, hold: Hold,
                 activity: Callable[[], float]) -> None:
        self._target, self._sink, self._hold, self._activity = target, sink, hold, activity
        self._last_submit = 0.0
        self._cond = threading.Condition()
        self._pending: ServicePlan | None = None
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"stackfile-watch-{service}", daemon=True)
        self._thread.start()

    def submit(self, plan: ServicePlan) -> None:
        with self._cond:
            self._pending = plan if self._pending is None else merge(self._pending, plan)
            self._last_submit = time.monotonic()
            self._cond.notify_all()

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or running."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()

    def _wait_hold(self) -> None:
        """For a restart or rebuild, wait until no change came for ``hold`` seconds (lock held)."""
        pending = self._pending
        while pending is not None and (pending.restart or pending.rebuild) and not self._closed:
            last = max(self._last_submit, self._activity())
            remaining = last + self._hold.after(len(pending.files)) - time.monotonic()
            if remaining <= 0:
                return
            self._cond.wait(remaining)
            pending = self._pending

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._pending is None:
                    return
                self._wait_hold()
                plan, self._pending, self._busy = self._pending, None, True
            try:
                run_plan(plan, self._target, self._sink)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


class WatchSession:
    """Watches the rules' paths and acts on ``target`` until :meth:`stop`."""

    def __init__(self, rules: Sequence[WatchRule], target: ActionTarget, sink: EventSink = discard, *,
                 window: Window | None = None, hold: Hold | None = None, poll: bool = False) -> None:
        self.rules = tuple(rules)
        self.target = target
        self.sink = sink
        self._debounce: Debouncer[Change] = Debouncer(self._on_batch, window)
        self._last_event = 0.0
        self._workers = {s: _Worker(s, target, sink, hold or Hold(), self._activity)
                         for s in sorted({r.service for r in self.rules})}
        self._observer = TreeObserver([r.path for r in self.rules], self._on_changes, poll=poll)
        self._started = False

    def start(self, *, initial_sync: bool = True) -> WatchSession:
        """Start watching, then run the rules' initial syncs (changes during them are not lost)."""
        self._check_paths()
        self._debounce.start()
        try:
            self._observer.start()
        except BaseException:
            self.stop()
            raise
        self._started = True
        for directory, why in sorted(self._observer.polled.items()):
            self.sink(WatchNotice(message=f"polling {directory}: {why}"))
        self.sink(WatchStarted(
            message=f"watching {len(self.rules)} rule(s) over "
                    f"{', '.join(str(d) for d, _ in self._observer.roots)}",
            roots=tuple(str(d) for d, _ in self._observer.roots),
            polled=tuple(str(d) for d in sorted(self._observer.polled)), rules=len(self.rules)))
        if initial_sync:
            self.initial_sync()
        return self

    def _check_paths(self) -> None:
        """A rule path may be missing (a file made later) but its directory must exist."""
        for rule in self.rules:
            if os.path.lexists(rule.path):
                continue
            if not rule.path.parent.is_dir():
                self.stop()
                raise NotFound(f"{rule.name}: watch path {rule.path} does not exist",
                               location=Location(key_path=f"services.{rule.service}.develop.watch"
                                                          f"[{rule.index}].path"),
                               hint="create it, or fix 'path' (relative to the project directory)")
            self.sink(WatchNotice(message=f"{rule.name}: {rule.path} does not exist yet; watching for it",
                                  service=rule.service))

    def initial_sync(self) -> None:
        """Make each running container match the host for rules with ``initial_sync: true``."""
        for rule in self.rules:
            if rule.initial_sync and rule.action in SYNC_ACTIONS and os.path.lexists(rule.path):
                self._sync_rule(rule)

    def _sync_rule(self, rule: WatchRule) -> None:
        start = time.monotonic()
        written = removed = 0
        try:
            for root in self.target.roots(rule.service):
                with ContainerRoot(root) as croot:
                    w, r = apply_sync(croot, SyncOp(rule.container_path(""), str(rule.path), rule))
                    written, removed = written + w, removed + r
        except Exception as exc:
            self.sink(WatchFailed(message=f"{rule.name}: initial sync failed: {exc}", service=rule.service,
                                  action="initial_sync", error=str(exc)))
            return
        self.sink(WatchSynced(message=f"{rule.name}: initial sync {rule.path} → {rule.target}: "
                                      f"{written} written, {removed} removed",
                              service=rule.service, rule=rule.name, written=written, removed=removed,
                              seconds=time.monotonic() - start))

    def settle(self, quiet: float = 0.05, timeout: float = 30.0) -> bool:
        """Wait until no change arrived for ``quiet`` seconds and every action is done."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(quiet)
            if not self._debounce.pending() and all(w.idle(0) for w in self._workers.values()):
                return True
        return False

    def stop(self) -> None:
        """Stop the observer, flush the last batch, finish running actions."""
        self._observer.stop()
        self._debounce.close()
        for worker in self._workers.values():
            worker.close()

    def __enter__(self) -> WatchSession:
        return self.start() if not self._started else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _activity(self) -> float:
        """When the trees last changed (now, while the debouncer still collects a burst)."""
        return time.monotonic() if self._debounce.pending() else self._last_event

    def _on_changes(self, changes: list[Change]) -> None:
        self._last_event = changes[-1].at
        selected = [ch for ch in changes if self._selected(ch)]
        self._debounce.add(selected, opened=[ch.path for ch in selected if ch.writer == "open"],
                           closed=[ch.path for ch in selected if ch.writer == "closed"])

    def _selected(self, change: Change) -> bool:
        return any(rule.match(change.path, change.is_dir) is not None for rule in self.rules)

    def _on_batch(self, batch: list[Change]) -> None:
        for plan in plan_batch(batch, self.rules):
            self._workers[plan.service].submit(plan)
