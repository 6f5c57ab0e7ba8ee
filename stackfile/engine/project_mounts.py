"""A service's ``volumes:``, ``tmpfs:`` and ``volumes_from:`` as runtime mounts (via the volume manager)."""

from __future__ import annotations

from typing import Any

from stackfile.errors import NotFound
from stackfile.reconcile import labels as L
from stackfile.runtime.api import Mount

__all__ = ["service_mounts"]


def _volumes_from(ctx: Any, service: Any) -> list[Mount]:
    from stackfile.volumes import inherit_mounts

    out: list[Mount] = []
    for entry in service.volumes_from:
        ref, _, mode = str(entry).partition(":")
        if ref == "container":
            ref, _, mode = mode.partition(":")
            target = ctx.runtime.inspect(ref).id
        else:
            found = [s for s in ctx.containers() if s.labels.get(L.SERVICE) == ref
                     and s.labels.get(L.ONEOFF) != "True"]
            if not found:
                raise NotFound(f"volumes_from: service {ref!r} has no container",
                               hint=f"start {ref} first (it is started first unless --no-deps)")
            target = found[0].id
        out += inherit_mounts(ctx.runtime.spec_of(target).mounts, mode)
    return out


def service_mounts(ctx: Any, service: Any, container_name: str, image_layers: tuple[str, ...]) -> list[Mount]:
    """Runtime mounts of one container: volumes_from, then the volume manager's mounts (named and
    anonymous volumes created, populated from the image on first use and recorded as used by the
    container; binds; tmpfs)."""
    stack = {"name": ctx.name, "volumes": ctx.stack.volumes}
    mounts = ctx.volumes.service_mounts(stack, service, container=container_name,
                                        working_dir=ctx.working_dir or ".", image_layers=image_layers)
    return [*_volumes_from(ctx, service), *mounts]
