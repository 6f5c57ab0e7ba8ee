"""``run``: a one-off container of a service, after its dependencies are up."""

from __future__ import annotations

import contextlib
from typing import Any

from stackfile.engine.project_containers import container_spec, remove_container, start_container
from stackfile.engine.project_context import ProjectContext
from stackfile.errors import Location, NotFound, StackfileError
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
    """Up the service's dependencies, then wait for their ``depends_on`` conditions (healthy,
    completed successfully) as Compose's ``run`` does before it starts the one-off."""
    desired = desired_services(ctx.config)
    depends = sorted(desired[service].depends_on)
    if not depends:
        return
    from stackfile.engine.project import UpOptions, up
    from stackfile.engine.project_apply import Applier
    from stackfile.reconcile.plan import Action, Kind
    from stackfile.reconcile.planner import PlanOptions

    up(opts, UpOptions(plan=PlanOptions(services=tuple(d.service for d in depends))), sink=ctx.sink)
    applier = Applier(ctx, desired)
    for dep in depends:
        kind = {"service_healthy": Kind.WAIT_HEALTHY,
                "service_completed_successfully": Kind.WAIT_COMPLETED}.get(dep.condition)
        if kind is not None and dep.required:
            applier.handlers()[kind](Action(f"service:{dep.service}", kind, "run", service=dep.service))


def run_oneoff(ctx: ProjectContext, opts: Any, service: str, argv: list[str], options: Any,
               name: str) -> tuple[str, int]:
    """Create and run the one-off container ``name``: its dependencies (unless ``no_deps``), networks
    and volumes first. Returns its id and exit code (0 when detached); its hostname is its short id,
    as Docker's."""
    import secrets

    from stackfile.engine.project import create_infrastructure

    if not options.no_deps:
        _dependencies_up(opts, ctx, service)
    create_infrastructure(ctx, service)
    desired = desired_services(ctx.config)[service]
    if ctx.images.resolve(desired.image) is None:
        from stackfile.engine.images import ensure_image
        from stackfile.engine.project_build import build_service_image

        if desired.buildable:
            build_service_image(ctx, desired.image, {service: desired})
        else:
            try:
                ensure_image(ctx.paths, desired.image, ctx.sink)
            except StackfileError as exc:  # say which service, where its image: is written
                exc.message = f'service "{service}": {exc.message}'
                raise exc.with_location(Location(key_path=f"services.{service}.image")) from None
    svc = ctx.stack.services[service]
    cid = secrets.token_hex(32)
    overrides = _overrides(svc, argv, options)
    if not svc.hostname:
        overrides["hostname"] = cid[:12]
    spec = container_spec(ctx, desired, 1, name=name, oneoff=True, publish=options.service_ports,
                          overrides=overrides)
    if options.detach:
        try:
            ctx.runtime.create(spec, image=desired.image, container_id=cid)
        except BaseException:
            remove_container(ctx, name, name)
            raise
        start_container(ctx, cid, service)
        return cid, 0
    try:
        return cid, int(ctx.runtime.run_attached(spec, image=desired.image, container_id=cid))
    finally:
        if options.remove:
            with contextlib.suppress(NotFound):
                remove_container(ctx, name, name, anonymous_volumes=True)
