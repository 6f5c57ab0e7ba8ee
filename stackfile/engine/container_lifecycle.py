"""``stackfile container stop|start|restart|rm`` on any container, a project's included.

The runtime knows nothing of networks, volumes or health monitors, so a service container that is
stopped or removed by ``container ...`` rather than by the project's own commands would keep its
published ports bound (by a proxy that has nowhere to relay), or leave its network sandbox, volume
references and monitor behind. For a container that carries a project label these go through the
same functions the project's commands use; any other container is the runtime's alone.
"""

from __future__ import annotations

from typing import Any

from stackfile.engine.containers import runtime
from stackfile.engine.project_context import ProjectContext
from stackfile.reconcile import labels as L
from stackfile.store.paths import StorePaths

__all__ = ["remove", "restart", "start", "stop"]

_RUNNING = ("running", "paused", "restarting")


def _lookup(paths: StorePaths, ref: str) -> tuple[Any, Any, ProjectContext | None]:
    """(runtime, status, the project's context if the container is a service's)."""
    rt = runtime(paths)
    status = rt.inspect(ref)
    project = status.labels.get(L.PROJECT)
    return rt, status, ProjectContext(paths, project) if project else None


def stop(paths: StorePaths, ref: str, timeout: float | None = None) -> None:
    """Stop signal, grace period, SIGKILL; a service container's host ports are freed."""
    from stackfile.engine.project_containers import stop_container

    rt, status, ctx = _lookup(paths, ref)
    if ctx is None:
        rt.stop(status.id, timeout)
    else:
        stop_container(ctx, status.id, status.name, timeout=timeout)


def start(paths: StorePaths, ref: str) -> None:
    """Start a stopped container; a service container's freed host ports are bound again first."""
    from stackfile.engine.project_containers import start_container

    rt, status, ctx = _lookup(paths, ref)
    if ctx is None:
        rt.start(status.id)
    else:
        start_container(ctx, status.id, status.labels.get(L.SERVICE, ""), status.name)


def restart(paths: StorePaths, ref: str, timeout: float | None = None) -> None:
    """Restart a container (running or not); a service container gets its freed ports back and
    its health monitor, as ``stackfile restart`` does."""
    from stackfile.engine.project_containers import restart_container

    rt, status, ctx = _lookup(paths, ref)
    if ctx is None:
        rt.restart(status.id, timeout)
    else:
        restart_container(ctx, status.id, status.name, status.labels.get(L.SERVICE, ""), timeout=timeout)


def remove(paths: StorePaths, ref: str, *, force: bool = False) -> None:
    """Remove a stopped container (``force``: kill it first). A service container's network
    sandbox, volume references (its anonymous volumes are kept, as ``docker rm`` without ``-v``)
    and health monitor go with it."""
    from stackfile.engine.project_containers import remove_container

    rt, status, ctx = _lookup(paths, ref)
    if ctx is None or (status.state.value in _RUNNING and not force):
        rt.remove(status.id, force=force)  # a running one without force: the runtime's Conflict
        return
    remove_container(ctx, status.id, status.name, timeout=0)
