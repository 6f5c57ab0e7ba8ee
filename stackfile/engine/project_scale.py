"""``scale`` and ``create``: ``up`` with Compose's options for each (plain functions, typed
requests, the :class:`~stackfile.engine.project.UpResult` of ``up``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stackfile.engine.project import UpOptions, UpResult, up
from stackfile.events import EventSink, discard
from stackfile.reconcile.planner import PlanOptions
from stackfile.record import Record

__all__ = ["CreateRequest", "create", "scale"]


def scale(opts: Any, counts: Mapping[str, int], *, no_deps: bool = False,
          sink: EventSink = discard) -> UpResult:
    """Compose's ``scale SERVICE=N...``: ``up -d`` of those services (and, unless ``no_deps``,
    what they depend on) with their replica counts replaced; the planner keeps the lowest
    up-to-date numbers when scaling down and numbers new replicas after the highest one kept."""
    from stackfile.errors import InvalidSpec

    if not counts:
        raise InvalidSpec("scale needs at least one SERVICE=REPLICAS", hint="stackfile scale web=3")
    plan = PlanOptions(services=tuple(sorted(counts)), no_deps=no_deps, scale=dict(counts))
    return _forgetting(up(opts, UpOptions(plan=plan), sink=sink))


def _forgetting(result: UpResult) -> UpResult:
    """Drop the remembered no-op ``up`` entries: their containers still run, but a plain ``up -d``
    now has work to do (scale back to the file's replicas, start what ``create`` made)."""
    from stackfile.engine.project_fast import forget

    if result.context is not None:
        forget(result.context.paths)
    return result


class CreateRequest(Record):
    """Compose's ``create`` flags. ``pull``: ``missing`` (and ``never``) use the store's images and
    build what is missing, ``build`` builds first, ``always`` is refused until registries come."""

    services: tuple[str, ...] = ()
    build: bool = False
    no_build: bool = False
    force_recreate: bool = False
    no_recreate: bool = False
    remove_orphans: bool = False
    pull: str = "missing"
    scale: Mapping[str, int] = {}


def create(opts: Any, req: CreateRequest, *, sink: EventSink = discard) -> UpResult:
    """Compose's ``create``: ``up --no-start`` (networks, volumes, images and containers, none
    started)."""
    from stackfile.errors import InvalidSpec, Location

    if req.pull not in ("missing", "never", "build"):
        raise InvalidSpec(f"--pull {req.pull} is not supported yet: images come from the store or are built",
                          location=Location(key_path="--pull"), hint="missing, never or build")
    plan = PlanOptions(services=tuple(req.services), no_start=True, build=req.build, no_build=req.no_build,
                       force_recreate=req.force_recreate, no_recreate=req.no_recreate,
                       remove_orphans=req.remove_orphans, scale=dict(req.scale))
    return _forgetting(up(opts, UpOptions(plan=plan), sink=sink))
