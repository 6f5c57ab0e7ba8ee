"""The Compose workflow for one project: ``up``, ``down`` and (re-exported) the other commands.

``up`` = load -> observe -> images first (build/ensure what is missing) -> plan -> execute. The
executor runs the plan's actions in parallel as dependencies allow; the engine emits events and
returns the plan, never prints.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from stackfile.engine.project_apply import Applier, wait_healthy
from stackfile.engine.project_context import ProjectContext, open_project
from stackfile.engine.project_lock import changing
from stackfile.engine.project_logs import logs
from stackfile.engine.project_ops import (
    exec_,
    images,
    kill,
    ls,
    pause,
    port,
    ps,
    restart,
    rm,
    run,
    start,
    stop,
    top,
    unpause,
)
from stackfile.errors import NotFound
from stackfile.events import Event, EventSink, discard
from stackfile.reconcile.desired import desired_services
from stackfile.reconcile.executor import ExecutionResult, execute
from stackfile.reconcile.plan import Kind, Plan
from stackfile.reconcile.planner import PlanOptions, plan, plan_down, select_services

__all__ = [
    "DownOptions",
    "UpOptions",
    "UpResult",
    "attached_after_failure",
    "create_infrastructure",
    "down",
    "exec_",
    "images",
    "kill",
    "logs",
    "ls",
    "pause",
    "port",
    "ps",
    "restart",
    "rm",
    "run",
    "start",
    "stop",
    "top",
    "unpause",
    "up",
]

IMAGE_KINDS = (Kind.BUILD_IMAGE, Kind.ENSURE_IMAGE, Kind.PULL_IMAGE)


class UpOptions(NamedTuple):
    """``up``'s flags (the plan-shaping ones are passed on as :class:`PlanOptions`)."""

    plan: PlanOptions = PlanOptions()
    dry_run: bool = False
    wait: bool = False
    wait_timeout: float | None = None
    timeout: float | None = None
    exit_code_from: str = ""  # attached up: checked against the services started before anything is done


@dataclass
class UpResult:
    """What ``up`` did: the plan executed (empty for a no-op) and the project it applied to."""

    project: str
    plan: Plan
    result: ExecutionResult | None = None
    services: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    context: ProjectContext | None = None


def up(opts: Any, options: UpOptions = UpOptions(), *, sink: EventSink = discard) -> UpResult:
    """Converge the project to its stack file; raises the first failure with the rest as detail."""
    loaded_ns = time.time_ns()
    ctx = open_project(opts, sink=sink, services=options.plan.services)
    disabled = tuple(getattr(ctx.project, "disabled_services", None) or ())
    options = options._replace(plan=options.plan._replace(disabled=disabled)) if disabled else options
    if options.dry_run:
        return _up(ctx, opts, options, sink, loaded_ns)
    with changing(ctx.paths, ctx.name, sink):
        return _up(ctx, opts, options, sink, loaded_ns)


def _up(ctx: ProjectContext, opts: Any, options: UpOptions, sink: EventSink, loaded_ns: int) -> UpResult:
    desired = desired_services(ctx.config)
    selected = select_services(desired, options.plan.services, options.plan.no_deps)
    if options.exit_code_from and options.exit_code_from not in selected:
        raise NotFound(f"no such service: {options.exit_code_from}",
                       hint="--exit-code-from names a service this up starts: " + ", ".join(selected))
    refs = sorted({desired[s].image for s in selected if desired[s].image})
    applier = Applier(ctx, desired, timeout=options.timeout, wait_timeout=options.wait_timeout)
    the_plan = plan(ctx.config, ctx.observe(refs, sound_only=True), options.plan)
    if options.dry_run:
        return UpResult(ctx.name, the_plan, services=selected, warnings=the_plan.warnings, context=ctx)
    images_plan = _only(the_plan, IMAGE_KINDS)
    buildable = sorted({desired[s].image for s in selected if desired[s].buildable})
    if images_plan or (buildable and not options.plan.no_build):
        _build_all(ctx, images_plan, buildable if not options.plan.no_build else [], applier, sink,
                   options.plan.build)
        the_plan = plan(ctx.config, ctx.observe(refs, sound_only=True), options.plan._replace(build=False))
    for warning in the_plan.warnings:
        sink(Event("project.warning", warning))
    warming = _prewarm(ctx, the_plan)
    applier.prepare = _to_prepare(the_plan) if warming is not None else frozenset()
    try:
        result = _run(the_plan, applier, sink)
    finally:
        _discard_warm(ctx, warming)
    from stackfile.engine.project_containers import ensure_monitors

    ensure_monitors(ctx, selected)
    if options.wait:
        for name in selected:
            if desired[name].replicas:
                wait_healthy_or_running(ctx, name, options.wait_timeout)
    full = _merge(images_plan, the_plan)
    mine = _service_containers(ctx, selected)
    acted = {a.name for a in full}
    for status in sorted(mine, key=lambda s: s.name):
        if status.name not in acted and status.state.value == "running":
            sink(Event("container.running", status.name))  # left as it was: Compose says Running
    _remember(ctx, opts, options, mine, selected, buildable, loaded_ns)
    return UpResult(ctx.name, full, result, selected, the_plan.warnings, ctx)


def attached_after_failure(opts: Any, options: UpOptions) -> tuple[ProjectContext, list[str]]:
    """After an attached ``up`` failed (a dependency that did not start): the project and the
    services it would have attached to, so that their output can still be shown as Compose does."""
    ctx = open_project(opts)
    selected = select_services(desired_services(ctx.config), options.plan.services, options.plan.no_deps)
    return ctx, selected


def create_infrastructure(ctx: ProjectContext, service: str) -> None:
    """The networks and volumes ``service`` uses, created when missing (``run`` on a fresh project
    creates what its one-off container needs, as Compose does)."""
    the_plan = plan(ctx.config, ctx.observe(sound_only=True), PlanOptions(services=(service,), no_deps=True))
    infra = _only(the_plan, (Kind.CREATE_NETWORK, Kind.CREATE_VOLUME))
    if infra:
        _run(infra, Applier(ctx, desired_services(ctx.config)), ctx.sink)


def _prewarm(ctx: ProjectContext, the_plan: Plan) -> Any:
    """When the plan starts containers, the runtime's warm shim (a zygote that forks the shims)
    gets its interpreter going now, in the background: the in-order starts along a depends_on
    chain then each cost a fork and the launch. Returns the thread (or None)."""
    count = sum(1 for a in the_plan if a.kind is Kind.START_CONTAINER)
    prewarm = getattr(ctx.runtime, "prewarm", None)
    if not count or prewarm is None:
        return None
    import threading

    def warm() -> None:
        try:
            prewarm(count)
        except OSError:  # no warm shim: every start spawns its own
            return

    thread = threading.Thread(target=warm, name="prewarm", daemon=True)
    thread.start()
    return thread


def _to_prepare(the_plan: Plan) -> frozenset[str]:
    """The containers this plan creates and then starts: their CreateContainer also prepares them
    (the runtime's shim builds each up to its exec), so the starts along a depends_on chain are
    each little more than an exec."""
    return frozenset(a.name for a in the_plan if a.kind is Kind.START_CONTAINER and not a.container)


def _discard_warm(ctx: ProjectContext, warming: Any) -> None:
    """The warm shim (of the starts, or of a restart) exits once the plan is done; the shims it
    made live on."""
    if warming is not None:
        warming.join()
    if "runtime" not in vars(ctx):  # a runtime this up has not used
        return
    undo = getattr(ctx.runtime, "discard_prepared", None)
    if undo is not None:  # prepared containers that were not started (a failure, Ctrl-C) stay created
        undo()
    discard = getattr(ctx.runtime, "discard_warm", None)
    if discard is not None:
        discard()


def _service_containers(ctx: ProjectContext, selected: list[str]) -> list[Any]:
    from stackfile.reconcile import labels as L

    return [s for s in ctx.containers() if s.labels.get(L.SERVICE) in selected
            and s.labels.get(L.ONEOFF) != "True"]


def _remember(ctx: ProjectContext, opts: Any, options: UpOptions, mine: list[Any], selected: list[str],
              buildable: list[str], loaded_ns: int) -> None:
    from stackfile.engine.project_build import dockerfiles
    from stackfile.engine.project_fast import remember

    if all(s.state.value == "running" for s in mine):
        remember(ctx.paths, opts, options.plan, ctx.project, selected,
                 [{"name": s.name, "id": s.id} for s in mine],
                 extra_files=dockerfiles(ctx, buildable, desired_services(ctx.config)), loaded_ns=loaded_ns,
                 networks=[{"bridge": n.bridge, "dns_pid": n.dns_pid, "id": n.id}
                           for n in ctx.networks.list_networks(project=ctx.name)])


def wait_healthy_or_running(ctx: ProjectContext, service: str, timeout: float | None) -> None:
    """``up --wait``: healthy when the service has a healthcheck, else running."""
    from stackfile.engine.project_containers import service_health

    if service_health(ctx, service) is not None:
        wait_healthy(ctx, service, timeout)


def _build_all(ctx: ProjectContext, images_plan: Plan, buildable: list[str], applier: Applier,
               sink: EventSink, force: bool) -> None:
    """Missing base images are ensured; every buildable image is built through the layer cache."""
    from stackfile.engine.project_build import build_refs

    ensure = _only(images_plan, (Kind.ENSURE_IMAGE, Kind.PULL_IMAGE))
    if ensure:
        _run(ensure, applier, sink)
    build_refs(ctx, buildable, applier.desired, force=force)


def _only(p: Plan, kinds: tuple[Kind, ...]) -> Plan:
    out = Plan()
    for action in p.ordered():
        if action.kind in kinds:
            out.add(action)
    return out


def _merge(first: Plan, second: Plan) -> Plan:
    if not first:
        return second
    out = Plan()
    for action in first.ordered():
        out.add(action)
    for action in second.ordered():
        out.add(action, after=[*first.actions, *(d.key for d in second.dependencies(action))])
    out.warnings = second.warnings
    return out


def _run(p: Plan, applier: Applier, sink: EventSink) -> ExecutionResult:
    result = execute(p, applier.handlers(), sink=sink, workers=8, cancel=applier.cancelled)
    for warning in result.warnings:
        sink(Event("project.warning", warning))
    result.raise_for_failure(p)
    return result


class DownOptions(NamedTuple):
    """``down``'s flags."""

    volumes: bool = False
    rmi: str = ""  # "" | "local" | "all"
    remove_orphans: bool = False
    timeout: float | None = None
    dry_run: bool = False


def down(opts: Any, options: DownOptions = DownOptions(), *, sink: EventSink = discard) -> UpResult:
    """Remove the project's containers, networks (and volumes, images): from labels, file or not."""
    ctx = open_project(opts, sink=sink, require_file=False)
    if options.dry_run:
        the_plan = _down_plan(ctx, options)
        return UpResult(ctx.name, the_plan, warnings=the_plan.warnings, context=ctx)
    with changing(ctx.paths, ctx.name, sink):
        return _down(ctx, options, sink)


def _down_plan(ctx: ProjectContext, options: DownOptions) -> Plan:
    # a service its profiles leave out is still the stack's: Compose's down removes its containers
    services = tuple(ctx.defined_service_names()) if ctx.project is not None else None
    return plan_down(ctx.observe(), services=services, remove_orphans=options.remove_orphans,
                     volumes=options.volumes, images=_rmi(ctx, options.rmi))


def _down(ctx: ProjectContext, options: DownOptions, sink: EventSink) -> UpResult:
    the_plan = _down_plan(ctx, options)  # observed under the lock
    for warning in the_plan.warnings:
        sink(Event("project.warning", warning))
    _stop_watch(ctx)
    applier = Applier(ctx, {}, timeout=options.timeout, anonymous_volumes=options.volumes)
    result = _run(the_plan, applier, sink) if the_plan else None
    from stackfile.engine.project_fast import forget

    forget(ctx.paths)
    if not ctx.containers():
        import shutil

        shutil.rmtree(ctx.state_dir, ignore_errors=True)
    return UpResult(ctx.name, the_plan, result, context=ctx)


def _rmi(ctx: ProjectContext, mode: str) -> Mapping[str, str]:
    if not mode or ctx.config is None:
        return {}
    desired = desired_services(ctx.config)
    out = {}
    for svc in desired.values():
        if mode == "all" or (svc.buildable and not (ctx.service_config(svc.name) or {}).get("image")):
            out[svc.image] = f"--rmi {mode}"
    return out


def _stop_watch(ctx: ProjectContext) -> None:
    try:
        from stackfile.watch.state import stop_watch
    except ImportError:
        return
    try:
        stop_watch(ctx.paths, ctx.name)
    except Exception:  # a watcher that is already gone is fine
        return
