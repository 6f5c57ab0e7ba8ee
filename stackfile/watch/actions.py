"""From a batch of changes to one plan per service, and running that plan against a target.

:func:`plan_batch` is pure (it only asks the host whether paths exist): it matches each changed
path against the rules and keeps, per service, the sync operations and whether to restart,
rebuild or exec. The strongest action wins: a rebuild makes the new image, so no sync or restart
is done with it. :func:`run_plan` applies a plan through an :class:`ActionTarget` — the engine's
real runtime and reconciler, or a test's directories and processes.
"""

from __future__ import annotations

import os
import posixpath
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from stackfile.events import EventSink
from stackfile.watch.events import WatchAction, WatchFailed, WatchNotice
from stackfile.watch.observer import Change
from stackfile.watch.rules import SYNC_ACTIONS, Action, WatchRule
from stackfile.watch.sync import ContainerRoot

__all__ = ["ActionTarget", "ServicePlan", "SyncOp", "merge", "plan_batch", "run_plan"]

_STRENGTH = [Action.REBUILD, Action.SYNC_RESTART, Action.RESTART, Action.SYNC_EXEC, Action.SYNC]


class ActionTarget(Protocol):
    """What watch acts on. The engine implements it with the runtime and the reconciler."""

    def roots(self, service: str) -> list[str]:
        """Host paths of the root file systems of the service's running containers."""

    def restart(self, service: str) -> None:
        """Restart the service's containers (and nothing else)."""

    def rebuild(self, service: str) -> None:
        """Rebuild the service's image through the layer cache and recreate its containers."""

    def exec(self, service: str, rule: WatchRule) -> int:
        """Run ``rule.exec_command`` in each of the service's containers; the worst exit code."""


@dataclass(frozen=True, order=True)
class SyncOp:
    """Make ``container`` match ``host`` (copy, mirror a directory, or delete), for ``rule``."""

    container: str
    host: str
    rule: WatchRule = field(compare=False)


@dataclass(frozen=True)
class ServicePlan:
    """Everything one batch asks of one service, with the causes."""

    service: str
    syncs: tuple[SyncOp, ...] = ()
    restart: bool = False
    rebuild: bool = False
    execs: tuple[WatchRule, ...] = ()
    files: tuple[str, ...] = ()  # host paths that caused it
    rules: tuple[WatchRule, ...] = ()
    last_change: float = 0.0  # monotonic time of the newest change

    @property
    def action(self) -> str:
        """The strongest action of the plan's rules, as Compose names it."""
        acts = {r.action for r in self.rules}
        return next(a.value for a in _STRENGTH if a in acts)


def plan_batch(changes: Iterable[Change], rules: Sequence[WatchRule]) -> list[ServicePlan]:
    """One plan per service (sorted by name) for the changes the rules select."""
    first: dict[str, Change] = {}
    last = 0.0
    for ch in changes:
        first.setdefault(ch.path, ch)
        last = max(last, ch.at)
    hits: dict[str, list[tuple[str, WatchRule, str]]] = {}
    for path in sorted(first):
        ch = first[path]
        exists = os.path.lexists(path)
        if ch.kind == "created" and not exists:
            continue  # a temp file born and gone within the batch: the container never needs it
        is_dir = os.path.isdir(path) if exists else ch.is_dir
        for rule in rules:
            rel = rule.match(path, is_dir)
            if rel is not None:
                hits.setdefault(rule.service, []).append((path, rule, rel))
    return [_plan(service, hits[service], last) for service in sorted(hits)]


def _plan(service: str, hits: list[tuple[str, WatchRule, str]], last: float) -> ServicePlan:
    rules = {r.name: r for _, r, _ in hits}
    acts = {r.action for r in rules.values()}
    syncs = [SyncOp(r.container_path(rel), path, r) for path, r, rel in hits if r.action in SYNC_ACTIONS]
    return ServicePlan(
        service=service,
        syncs=_outermost(syncs),
        restart=bool(acts & {Action.RESTART, Action.SYNC_RESTART}),
        rebuild=Action.REBUILD in acts,
        execs=tuple(r for _, r in sorted(rules.items()) if r.action is Action.SYNC_EXEC),
        files=tuple(sorted({p for p, _, _ in hits})),
        rules=tuple(r for _, r in sorted(rules.items())),
        last_change=last,
    )


def _outermost(ops: list[SyncOp]) -> tuple[SyncOp, ...]:
    """One op per container path, none inside a directory op (which mirrors its whole tree)."""
    kept: dict[str, SyncOp] = {}
    covering: list[str] = []  # container dirs mirrored (or deleted) as a whole
    for op in sorted(ops, key=lambda o: (o.container.count("/"), o.container)):
        if op.container in kept or any(op.container.startswith(c.rstrip("/") + "/") for c in covering):
            continue
        kept[op.container] = op
        if os.path.isdir(op.host) or not os.path.lexists(op.host):
            covering.append(op.container)
    return tuple(sorted(kept.values()))


def merge(a: ServicePlan, b: ServicePlan) -> ServicePlan:
    """One plan doing what both do (a plan that waited while another ran absorbs newer ones)."""
    rules = {r.name: r for r in (*a.rules, *b.rules)}
    return ServicePlan(
        service=a.service,
        syncs=_outermost([*a.syncs, *b.syncs]),
        restart=a.restart or b.restart,
        rebuild=a.rebuild or b.rebuild,
        execs=tuple({r.name: r for r in (*a.execs, *b.execs)}.values()),
        files=tuple(sorted({*a.files, *b.files})),
        rules=tuple(r for _, r in sorted(rules.items())),
        last_change=max(a.last_change, b.last_change),
    )


def run_plan(plan: ServicePlan, target: ActionTarget, sink: EventSink) -> bool:
    """Apply ``plan``; emits one :class:`WatchAction` (or :class:`WatchFailed`). True on success."""
    start = time.monotonic()
    written = removed = 0
    try:
        if plan.rebuild:
            target.rebuild(plan.service)
        else:
            written, removed = _sync_all(plan, target, sink)
            if plan.restart:
                target.restart(plan.service)
            for rule in plan.execs:
                code = target.exec(plan.service, rule)
                if code:
                    raise RuntimeError(f"{' '.join(rule.exec_command)} exited with {code}")
    except Exception as exc:  # report and keep watching; the next save may fix it
        sink(WatchFailed(message=f"{plan.service}: {plan.action} failed: {exc}", service=plan.service,
                         action=plan.action, files=plan.files, error=str(exc)))
        return False
    end = time.monotonic()
    sink(WatchAction(message=_describe(plan), service=plan.service, action=plan.action, files=plan.files,
                     rules=tuple(r.name for r in plan.rules), written=written, removed=removed,
                     seconds=end - start, latency=end - plan.last_change if plan.last_change else 0.0))
    return True


def _sync_all(plan: ServicePlan, target: ActionTarget, sink: EventSink) -> tuple[int, int]:
    if not plan.syncs:
        return 0, 0
    roots = target.roots(plan.service)
    if not roots:
        sink(WatchNotice(message=f"{plan.service}: not running, sync skipped", service=plan.service))
    written = removed = 0
    for root in roots:
        with ContainerRoot(root) as croot:
            for op in plan.syncs:
                w, r = apply_sync(croot, op)
                written, removed = written + w, removed + r
    return written, removed


def apply_sync(croot: ContainerRoot, op: SyncOp) -> tuple[int, int]:
    """Make the container match the host for one operation; (files written, entries removed)."""
    if not os.path.lexists(op.host):
        return 0, int(croot.remove(op.container))
    if os.path.isdir(op.host) and not os.path.islink(op.host):
        rule = op.rule

        def select(rel: str, is_dir: bool) -> bool:
            return rule.match(posixpath.join(op.host, rel), is_dir) is not None

        stats = croot.sync_tree(op.host, op.container, select)
        return stats.written, stats.removed
    return int(croot.put(op.host, op.container)), 0


def _describe(plan: ServicePlan) -> str:
    files = ", ".join(plan.files[:3]) + (f" (+{len(plan.files) - 3} more)" if len(plan.files) > 3 else "")
    rules = ", ".join(r.name for r in plan.rules)
    return f"{files} → {rules} → {plan.action} {plan.service}"
