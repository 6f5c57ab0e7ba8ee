"""``run``: a one-off container of a service, after its dependencies are up."""

from __future__ import annotations

import contextlib
from typing import Any

from stackfile.engine.project_containers import container_spec, remove_container, start_container
from stackfile.engine.project_context import ProjectContext
from stackfile.errors import NotFound
from stackfile.reconcile.desired import desired_services

__all__ = ["run_oneoff"]


def _overrides(service: Any, argv: list[str], options: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"restart": "no", "deploy": None}
    if argv:
        out["command"] = tuple(argv)
    if options.entrypoint is not None:
        out["entrypoint"] = tuple(options.entrypoint)
        out.setdefault("command", tuple(argv))
    if options.env:
        out["environment"] = {**service.environment, **options.env}
    if options.user:
        out["user"] = options.user
    if options.workdir:
        out["working_dir"] = options.workdir
    if options.labels:
        out["labels"] = {**service.labels, **options.labels}
    out["tty"], out["stdin_open"] = options.tty, options.interactive
    return out


def _dependencies_up(opts: Any, ctx: ProjectContext, service: str) -> None:
    deps = sorted(d.service for d in desired_services(ctx.config)[service].depends_on)
    if not deps:
        return
    from stackfile.engine.project import UpOptions, up
    from stackfile.reconcile.planner import PlanOptions

    up(opts, UpOptions(plan=PlanOptions(services=tuple(deps))), sink=ctx.sink)


def run_oneoff(ctx: ProjectContext, opts: Any, service: str, argv: list[str], options: Any, name: str) -> int:
    """Create and run the one-off container ``name``; returns its exit code (0 when detached)."""
    if not options.no_deps:
        _dependencies_up(opts, ctx, service)
    desired = desired_services(ctx.config)[service]
    if ctx.images.resolve(desired.image) is None:
        from stackfile.engine.images import ensure_image
        from stackfile.engine.project_build import build_service_image

        if desired.buildable:
            build_service_image(ctx, desired.image, {service: desired})
        else:
            ensure_image(ctx.paths, desired.image, ctx.sink, ctx.environ)
    svc = ctx.stack.services[service]
    spec = container_spec(ctx, desired, 1, name=name, oneoff=True, publish=options.service_ports,
                          overrides=_overrides(svc, argv, options))
    if options.detach:
        try:
            cid = ctx.runtime.create(spec, image=desired.image)
        except BaseException:
            remove_container(ctx, name, name)
            raise
        start_container(ctx, cid, service)
        return 0
    try:
        return int(ctx.runtime.run_attached(spec, image=desired.image))
    finally:
        if options.remove:
            with contextlib.suppress(NotFound):
                remove_container(ctx, name, name, anonymous_volumes=True)
