"""Compose ``pull`` and ``push``: the registry use cases over a project's services."""

from __future__ import annotations

from typing import Any

from stackfile.errors import NotFound, StackfileError
from stackfile.events import EventSink, discard

__all__ = ["pull_project", "push_project"]


def _services(ctx: Any, names: list[str]) -> dict[str, Any]:
    from stackfile.reconcile.desired import desired_services

    desired = desired_services(ctx.require_stack())
    unknown = sorted(set(names) - set(desired))
    if unknown:
        raise NotFound(
            f"no such service: {', '.join(unknown)}", hint=f"services are: {', '.join(sorted(desired))}"
        )
    return {n: desired[n] for n in sorted(names or desired)}


def pull_project(
    opts: Any,
    services: list[str],
    *,
    ignore_buildable: bool = False,
    missing_only: bool = False,
    keep_going: bool = False,
    sink: EventSink = discard,
) -> list[tuple[str, str]]:
    """Pull each named service's image (all services without names); returns (service, error) of
    the failures when ``keep_going``. Services built from an ``images:`` recipe are skipped, and
    those with ``build:`` when ``ignore_buildable`` or their ``pull_policy`` is ``build``."""
    from stackfile.engine.project_context import open_project
    from stackfile.engine.registry import pull_image

    ctx = open_project(opts, sink=sink)
    stack = ctx.require_stack()
    recipes = set(getattr(stack, "images", {}) or {})
    failed: list[tuple[str, str]] = []
    done: set[str] = set()
    for name, svc in _services(ctx, services).items():
        model = stack.services[name]
        policy = getattr(model, "pull_policy", None) or ""
        if not svc.image or svc.image in recipes or svc.image in done or policy == "never":
            continue
        if svc.buildable and (ignore_buildable or policy == "build" or model.image is None):
            continue
        if missing_only and ctx.images.resolve(svc.image) is not None:
            continue
        done.add(svc.image)
        try:
            pull_image(ctx.paths, svc.image, platform=getattr(model, "platform", None) or None, sink=sink)
        except StackfileError as exc:
            if not keep_going and not svc.buildable:
                raise
            failed.append((name, exc.render()))
    return failed


def push_project(
    opts: Any, services: list[str], *, keep_going: bool = False, sink: EventSink = discard
) -> list[tuple[str, str]]:
    """Push the image of each named service that builds one (``build:`` or an ``images:`` recipe)
    and has an ``image:`` name, building it first, as Compose v2 does (a service that only names an
    image is skipped); returns (service, error) of the failures when ``keep_going``."""
    from stackfile.engine.project_build import build_service_image
    from stackfile.engine.project_context import open_project
    from stackfile.engine.registry import push_image

    ctx = open_project(opts, sink=sink)
    stack = ctx.require_stack()
    selected = _services(ctx, services)
    failed: list[tuple[str, str]] = []
    done: set[str] = set()
    for name, svc in selected.items():
        model = stack.services[name]
        if model.image is None or not svc.buildable or svc.image in done:
            continue
        done.add(svc.image)
        try:
            build_service_image(ctx, svc.image, selected)
            push_image(ctx.paths, svc.image, sink=sink)
        except StackfileError as exc:
            if not keep_going:
                raise
            failed.append((name, exc.render()))
    return failed
