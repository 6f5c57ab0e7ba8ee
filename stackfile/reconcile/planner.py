"""The pure planner: desired stack + observed state + options -> :class:`Plan`. No I/O.

Decisions, in docker compose's order of reasons: no container -> create; ``--force-recreate``;
config hash differs (naming the fields); image changed; a ``restart: true`` dependency was
recreated; not running -> start. Extra replicas are removed (highest numbers first), and so are
orphans when asked. ``depends_on`` conditions become ``WaitHealthy``/``WaitCompleted`` actions
between a dependency and its dependents, unless the dependency is untouched and already there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from stackfile.errors import NotFound
from stackfile.reconcile import labels as L
from stackfile.reconcile.desired import DesiredService, desired_services
from stackfile.reconcile.hash import changed_fields, decode_fields
from stackfile.reconcile.observed import ObservedContainer, ObservedState
from stackfile.reconcile.plan import Action, Kind, Plan

__all__ = ["PlanOptions", "plan", "plan_down", "select_services"]

STARTING = {Kind.CREATE_CONTAINER, Kind.RECREATE_CONTAINER, Kind.START_CONTAINER, Kind.RESTART_CONTAINER}


class PlanOptions(NamedTuple):
    """The ``up`` flags that change the plan."""

    services: tuple[str, ...] = ()  # empty = all
    no_deps: bool = False
    force_recreate: bool = False
    no_recreate: bool = False
    remove_orphans: bool = False
    build: bool = False
    no_build: bool = False
    no_start: bool = False
    scale: Mapping[str, int] = MappingProxyType({})
    disabled: tuple[str, ...] = ()  # services the active profiles leave out: not orphans


def select_services(desired: Mapping[str, DesiredService], names: tuple[str, ...],
                    no_deps: bool) -> list[str]:
    """The named services (all when empty) plus, unless ``no_deps``, what they depend on."""
    for name in names:
        if name not in desired:
            raise NotFound(f"no such service: {name}", hint="services: " + ", ".join(sorted(desired)))
    todo = list(names or desired)
    keep: set[str] = set()
    while todo:
        name = todo.pop()
        if name in keep or name not in desired:
            continue
        keep.add(name)
        if not no_deps:
            todo.extend(d.service for d in desired[name].depends_on)
            todo.extend(desired[name].uses)
    return sorted(keep)


def plan(stack: Any, observed: ObservedState, options: PlanOptions = PlanOptions()) -> Plan:
    """Plan ``up``: the actions that turn ``observed`` into what ``stack`` asks for."""
    desired = desired_services(stack)
    selected = select_services(desired, options.services, options.no_deps)
    out = Plan()
    infra = _infrastructure(out, [desired[s] for s in selected], observed, options)
    by_service: dict[str, list[str]] = {}
    recreated: set[str] = set()
    for name in _dependency_order(desired, selected):
        svc = desired[name]
        create_after = [k for k in infra if _infra_for(svc, k)]
        create_after += [k for used in svc.uses for k in by_service.get(used, [])]
        start_after, start_soft = _waits(out, svc, desired, observed, by_service, selected,
                                         wait=not options.no_start)
        keys = _service_actions(out, svc, observed, options, create_after, start_after, recreated,
                                start_soft)
        starts = [k for k in keys if out.actions[k].kind not in (Kind.CREATE_CONTAINER,
                                                                   Kind.RECREATE_CONTAINER)]
        by_service[name] = starts if not options.no_start else keys
        if any(out.actions[k].kind is Kind.RECREATE_CONTAINER for k in keys):
            recreated.add(name)
    _orphans(out, desired, observed, options)
    return out


def _dependency_order(desired: Mapping[str, DesiredService], selected: list[str]) -> list[str]:
    from stackfile.graph import Graph

    graph: Graph[str] = Graph()
    for name in selected:
        graph.add_node(name)
        for dep in [d.service for d in desired[name].depends_on] + list(desired[name].uses):
            if dep in selected:
                graph.add_edge(name, dep)
    return graph.order()


def _infrastructure(out: Plan, services: list[DesiredService], observed: ObservedState,
                    options: PlanOptions) -> list[str]:
    keys = []
    for net in sorted({n for s in services for n in s.networks} - set(observed.networks)):
        keys.append(out.add(Action(f"network:{net}", Kind.CREATE_NETWORK, "not found", name=net)))
    for vol in sorted({v for s in services for v in s.volumes} - set(observed.volumes)):
        keys.append(out.add(Action(f"volume:{vol}", Kind.CREATE_VOLUME, "not found", name=vol)))
    for svc in sorted(services, key=lambda s: s.image):
        if not svc.image:
            continue
        missing = svc.image not in observed.images
        if svc.buildable and not options.no_build and (missing or options.build):
            cause = "not found" if missing else "--build"
            keys.append(out.add(Action(f"image:{svc.image}", Kind.BUILD_IMAGE, cause, service=svc.name,
                                       name=svc.image)))
        elif missing:
            keys.append(out.add(Action(f"image:{svc.image}", Kind.ENSURE_IMAGE, "not found", service=svc.name,
                                       name=svc.image)))
    return keys


def _infra_for(svc: DesiredService, key: str) -> bool:
    target = key.split("/", 1)[0]
    kind, _, name = target.partition(":")
    return (kind == "network" and name in svc.networks) or (kind == "volume" and name in svc.volumes) \
        or (kind == "image" and name == svc.image)


def _waits(out: Plan, svc: DesiredService, desired: Mapping[str, DesiredService], observed: ObservedState,
           by_service: Mapping[str, list[str]], selected: list[str], *,
           wait: bool = True) -> tuple[list[str], list[str]]:
    """What the service's start waits for: (hard keys, soft keys of ``required: false`` deps).
    Without ``wait`` (``--no-start``: nothing will run, so nothing can get healthy or complete)
    only the order of the dependencies' actions is kept."""
    keys: list[str] = []
    soft: list[str] = []
    for dep in svc.depends_on:
        if dep.service not in selected:
            continue
        dep_keys = by_service.get(dep.service, [])
        bucket = keys if dep.required else soft
        bucket += dep_keys
        kind = {"service_healthy": Kind.WAIT_HEALTHY,
                "service_completed_successfully": Kind.WAIT_COMPLETED}.get(dep.condition)
        if kind is None or not wait or (not dep_keys and _satisfied(observed, dep.service, kind)):
            continue
        action = Action(f"service:{dep.service}", kind, f"{svc.name} depends on it ({dep.condition})",
                        service=dep.service, required=dep.required)
        existing = out.actions.get(action.key)
        if existing is not None:
            waiters = ", ".join(sorted([*existing.cause.split(" depend")[0].split(", "), svc.name]))
            out.actions[action.key] = existing._replace(cause=f"{waiters} depend on it ({dep.condition})",
                                              required=existing.required or dep.required)
            if dep.required:
                out.harden(action.key)
        bucket.append(out.add(action, after=dep_keys if dep.required else (), soft=dep_keys))
    return keys, soft


def _satisfied(observed: ObservedState, service: str, kind: Kind) -> bool:
    containers = observed.service_containers(service)
    if not containers:
        return False
    if kind is Kind.WAIT_HEALTHY:
        return all(c.running and c.health in ("healthy", "") for c in containers)
    return all(c.state == "exited" and c.exit_code == 0 for c in containers)


def _service_actions(out: Plan, svc: DesiredService, observed: ObservedState, options: PlanOptions,
                     create_after: list[str], start_after: list[str], recreated: set[str],
                     start_soft: Sequence[str] = ()) -> list[str]:
    """Containers are created as soon as their resources exist (in parallel) and started in
    dependency order: only the start waits for dependencies."""
    replicas = options.scale.get(svc.name, svc.replicas)
    existing, extra = _replicas(svc, observed, options, recreated, replicas)
    keys = []
    for number in sorted(existing):
        action = _decide(svc, existing[number], number, observed, options, recreated)
        if action is None:
            continue
        if action.kind is Kind.START_CONTAINER:
            keys.append(out.add(action, after=start_after, soft=start_soft))
            continue
        keys.append(out.add(action, after=create_after))
        if not options.no_start:
            cause = "new container" if action.kind is Kind.CREATE_CONTAINER else "recreated"
            start = action._replace(kind=Kind.START_CONTAINER, cause=cause, container="")
            keys.append(out.add(start, after=[keys[-1], *start_after], soft=start_soft))
    for c in sorted(extra, key=lambda c: (-c.number, c.name)):
        cause = "duplicate container" if existing.get(c.number) is not None else "scale down"
        keys.append(out.add(Action(f"service:{svc.name}:{c.number}", Kind.REMOVE_CONTAINER, cause,
                                   service=svc.name, number=c.number, name=c.name, container=c.id)))
    return keys


def _replicas(svc: DesiredService, observed: ObservedState, options: PlanOptions, recreated: set[str],
              replicas: int) -> tuple[dict[int, ObservedContainer | None], list[ObservedContainer]]:
    """Compose's numbering: the containers kept by number (None: to create) and those to remove.
    Scaling down removes outdated containers first, then the highest numbers; new replicas take
    the numbers after the highest one kept, so a removed ``web-2`` is not refilled (``web-4``)."""
    kept: dict[int, ObservedContainer | None] = {}
    extra: list[ObservedContainer] = []
    for c in observed.service_containers(svc.name):  # by number; a second one with a number goes
        if c.number in kept or c.number < 1:
            extra.append(c)
        else:
            kept[c.number] = c

    def outdated_then_highest(c: ObservedContainer) -> tuple[bool, int]:
        return not _recreate_reason(svc, c, observed, options, recreated), -c.number

    if len(kept) > replicas:
        surplus = sorted((c for c in kept.values() if c is not None), key=outdated_then_highest)
        for c in surplus[:len(kept) - replicas]:
            extra.append(c)
            del kept[c.number]
    after = max(kept, default=0)
    for offset in range(1, replicas - len(kept) + 1):
        kept[after + offset] = None
    return kept, extra


def _decide(svc: DesiredService, c: ObservedContainer | None, number: int, observed: ObservedState,
            options: PlanOptions, recreated: set[str]) -> Action | None:
    target = f"service:{svc.name}:{number}"

    def act(kind: Kind, cause: str) -> Action:
        return Action(target, kind, cause, service=svc.name, number=number,
                      name=c.name if c else svc.container_name_for(observed.project, number),
                      container=c.id if c else "")

    if c is None:
        return act(Kind.CREATE_CONTAINER, "no existing container")
    reason = "" if options.no_recreate else _recreate_reason(svc, c, observed, options, recreated)
    if reason:
        return act(Kind.RECREATE_CONTAINER, reason)
    if options.no_start or c.running:
        return None
    return act(Kind.START_CONTAINER, f"container {c.state}")


def _recreate_reason(svc: DesiredService, c: ObservedContainer, observed: ObservedState,
                     options: PlanOptions, recreated: set[str]) -> str:
    if options.force_recreate:
        return "--force-recreate"
    if c.labels.get(L.CONFIG_HASH) != svc.hash:
        changed = changed_fields(decode_fields(c.labels.get(L.CONFIG_FIELDS)), svc.fields)
        shown = ", ".join(changed[:3]) + (f" (+{len(changed) - 3} more)" if len(changed) > 3 else "")
        return f"config hash changed: {shown}" if changed else "config hash changed"
    image_id = observed.images.get(svc.image)
    if image_id and c.labels.get(L.IMAGE) and c.labels.get(L.IMAGE) != image_id:
        return "image rebuilt"
    restarted = sorted(d.service for d in svc.depends_on if d.restart and d.service in recreated)
    if restarted:
        return f"dependency recreated: {', '.join(restarted)}"
    return ""


def _orphans(out: Plan, desired: Mapping[str, DesiredService], observed: ObservedState,
             options: PlanOptions) -> None:
    orphans = sorted((c for c in observed.containers
                      if not c.oneoff and c.service not in desired and c.service not in options.disabled),
                     key=lambda c: c.name)
    for c in orphans:
        if options.remove_orphans:
            out.add(Action(f"container:{c.name}", Kind.REMOVE_CONTAINER, "orphan",
                           service=c.service, number=c.number, name=c.name, container=c.id))
        else:
            out.warnings.append(
                f"found orphan container {c.name} (service {c.service!r} is not in the stack); "
                "run with --remove-orphans to remove it")


def _down_removes(c: ObservedContainer, services: tuple[str, ...] | None, remove_orphans: bool) -> bool:
    """Compose's rule: a service's container goes; another service's (an orphan) only with
    ``--remove-orphans``; a one-off ``run`` container is an orphan once it has exited and is never
    removed while it runs."""
    if c.oneoff:
        return c.state in ("exited", "dead") and (services is None or remove_orphans)
    return services is None or remove_orphans or c.service in services


def plan_down(observed: ObservedState, *, services: tuple[str, ...] | None = None,
              remove_orphans: bool = True, volumes: bool = False,
              images: Mapping[str, str] | None = None) -> Plan:
    """Plan ``down`` from what exists (labels), so it works after a crash or without the file.

    ``services`` are the stack's services when the file could be read (others are orphans and
    kept unless ``remove_orphans``); containers stop dependents first (``depends-on`` labels);
    networks, then volumes (``volumes``) and ``images`` (name -> cause) go after all containers.
    """
    out = Plan()
    keep = [c for c in observed.containers if _down_removes(c, services, remove_orphans)]
    stops: dict[str, list[str]] = {}
    for c in sorted(keep, key=lambda c: c.name):
        orphan = services is not None and (c.oneoff or c.service not in services)
        cause = "orphan" if orphan else "down"
        remove = Action(f"container:{c.name}", Kind.REMOVE_CONTAINER, cause, service=c.service,
                        number=c.number, name=c.name, container=c.id)
        after = []
        if c.running:
            after = [out.add(remove._replace(kind=Kind.STOP_CONTAINER))]
            stops.setdefault(c.service, []).append(after[0])
        out.add(remove, after=after)
    for c in keep:  # a dependency stops after its dependents (removal needs no order)
        for dep in filter(None, c.labels.get(L.DEPENDS_ON, "").split(",")):
            for dep_key in stops.get(dep, []):
                if c.running:
                    out.graph.add_edge(dep_key, f"container:{c.name}/{Kind.STOP_CONTAINER.value}")
    containers = [k for k, a in out.actions.items() if a.kind is Kind.REMOVE_CONTAINER]
    left = {c.id for c in observed.containers} - {c.id for c in keep}
    for c in sorted((c for c in observed.containers if c.id in left and c.oneoff and c.running),
                    key=lambda c: c.name):
        out.warnings.append(f"one-off container {c.name} is still running: down leaves it, as Compose does "
                            "(networks in use are kept); stop it, then down --remove-orphans removes it")
    for c in sorted((c for c in observed.containers if c.id in left and not c.oneoff), key=lambda c: c.name):
        out.warnings.append(f"found orphan container {c.name} (service {c.service!r} is not in the stack); "
                            "run with --remove-orphans to remove it (networks in use are kept)")
    if not left:
        for net in sorted(observed.networks):
            out.add(Action(f"network:{net}", Kind.REMOVE_NETWORK, "down", name=net), after=containers)
        if volumes:
            for vol in sorted(observed.volumes):
                out.add(Action(f"volume:{vol}", Kind.REMOVE_VOLUME, "down -v", name=vol), after=containers)
    for ref, cause in sorted((images or {}).items()):
        out.add(Action(f"image:{ref}", Kind.REMOVE_IMAGE, cause, name=ref), after=containers)
    return out
