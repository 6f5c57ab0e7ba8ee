"""The executor's handlers for ``up``/``down``: one small function per action kind.

They carry out what the plan says; the only waiting they do is what a Wait action asks for.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackfile.engine.project_containers import create_container, remove_container, start_container
from stackfile.engine.project_context import ProjectContext
from stackfile.errors import Conflict, Location, NotFound, StackfileError, Unavailable
from stackfile.reconcile import labels as L
from stackfile.reconcile.desired import DesiredService, get, network_name, volume_name
from stackfile.reconcile.executor import Cancelled, Handler
from stackfile.reconcile.health import read_health
from stackfile.reconcile.health_main import health_path
from stackfile.reconcile.plan import Action, Kind

__all__ = ["Applier", "logs_tail"]

POLL = 0.05


def logs_tail(ctx: ProjectContext, container_id: str, lines: int = 10) -> str:
    """The last lines a container printed, for error messages."""
    try:
        return "\n".join(line.text.rstrip("\n") for line in ctx.runtime.logs(container_id, tail=lines))
    except StackfileError:
        return ""


@dataclass
class Applier:
    """Handlers bound to one project and the desired services."""

    ctx: ProjectContext
    desired: Mapping[str, DesiredService]
    timeout: float | None = None  # stop timeout
    wait_timeout: float | None = None
    anonymous_volumes: bool = False  # removed containers take their anonymous volumes (down -v)
    prepare: frozenset[str] = frozenset()  # containers (by name) this up creates and then starts
    cancelled: threading.Event = field(default_factory=threading.Event)  # set by the executor on Ctrl-C


    def handlers(self) -> dict[Kind, Handler]:
        return {
            Kind.CREATE_NETWORK: self.create_network, Kind.CREATE_VOLUME: self.create_volume,
            Kind.ENSURE_IMAGE: self.ensure_image, Kind.BUILD_IMAGE: self.build_image,
            Kind.CREATE_CONTAINER: self.create, Kind.RECREATE_CONTAINER: self.recreate,
            Kind.START_CONTAINER: self.start_existing, Kind.RESTART_CONTAINER: self.restart,
            Kind.STOP_CONTAINER: self.stop, Kind.REMOVE_CONTAINER: self.remove,
            Kind.WAIT_HEALTHY: self.wait_healthy, Kind.WAIT_COMPLETED: self.wait_completed,
            Kind.REMOVE_NETWORK: self.remove_network, Kind.REMOVE_VOLUME: self.remove_volume,
            Kind.REMOVE_IMAGE: self.remove_image,
        }

    # ---------------------------------------------------------------- infrastructure
    def create_network(self, action: Action) -> None:
        from stackfile.network.model import NetworkConfig

        stack = self.ctx.require_stack()
        key = next((k for k in stack.networks if network_name(stack, k) == action.name), None)
        net = stack.networks.get(key) if key else None
        pool = net.ipam.config[0] if net is not None and net.ipam and net.ipam.config else None
        labels = {**(dict(net.labels) if net else {}), L.PROJECT: self.ctx.name,
                  "io.stackfile.network": key or ""}
        self.ctx.networks.ensure_network(NetworkConfig(
            name=action.name, project=self.ctx.name, subnet=pool.subnet if pool else None,
            gateway=pool.gateway if pool else None, internal=bool(net and net.internal), labels=labels,
            driver_opts=dict(net.driver_opts) if net else {}))

    def create_volume(self, action: Action) -> None:
        stack = self.ctx.require_stack()
        key = next((k for k in stack.volumes if volume_name(stack, k) == action.name), "")
        vol = stack.volumes.get(key)
        labels = {**(dict(vol.labels) if vol else {}), L.PROJECT: self.ctx.name, "io.stackfile.volume": key}
        from stackfile.volumes import volume_config

        cfg = volume_config(key, vol, self.ctx.name)
        self.ctx.volumes.ensure(cfg._replace(labels={**cfg.labels, **labels}))

    def ensure_image(self, action: Action) -> None:
        from stackfile.engine.images import ensure_image

        ensure_image(self.ctx.paths, action.name, self.ctx.sink)

    def build_image(self, action: Action) -> None:
        from stackfile.engine.project_build import build_service_image

        build_service_image(self.ctx, action.name, self.desired)

    # ---------------------------------------------------------------- containers
    def create(self, action: Action) -> None:
        container_id = create_container(self.ctx, self.desired[action.service], action.number)
        if action.name in self.prepare:
            prepare = getattr(self.ctx.runtime, "prepare", None)
            if prepare is not None:  # its start (a StartContainer action of this plan) is then cheap
                prepare(container_id)

    def recreate(self, action: Action) -> None:
        remove_container(self.ctx, action.container, action.name, timeout=self.timeout)
        self.create(action)

    def start_existing(self, action: Action) -> None:
        start_container(self.ctx, action.container or action.name, action.service, action.name)

    def restart(self, action: Action) -> None:
        from stackfile.engine.project_containers import restart_container

        restart_container(self.ctx, action.container, action.name, action.service, timeout=self.timeout)

    def stop(self, action: Action) -> None:
        from stackfile.engine.project_containers import stop_container

        stop_container(self.ctx, action.container, action.name, timeout=self.timeout)

    def remove(self, action: Action) -> None:
        remove_container(self.ctx, action.container or action.name, action.name, timeout=self.timeout,
                         anonymous_volumes=self.anonymous_volumes)

    # ---------------------------------------------------------------- waits
    def _service_containers(self, service: str) -> list[Any]:
        return [s for s in self.ctx.containers()
                if s.labels.get(L.SERVICE) == service and s.labels.get(L.ONEOFF) != "True"]

    def wait_healthy(self, action: Action) -> None:
        wait_healthy(self.ctx, action.service, self.wait_timeout, self.cancelled)

    def wait_completed(self, action: Action) -> None:
        deadline = None if self.wait_timeout is None else time.monotonic() + self.wait_timeout
        for status in self._service_containers(action.service):
            while True:  # in slices, so that a cancel is seen
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    code = self.ctx.runtime.wait(status.id, timeout=POLL if left is None else min(POLL, left))
                    break
                except Conflict:  # still running after the slice
                    if self.cancelled.is_set():
                        raise Cancelled(f"stopped waiting for {status.name} to complete") from None
                    if left is not None and left <= 0:
                        raise
            if code != 0:
                raise Unavailable(
                    f'service "{action.service}" didn\'t complete successfully: exit {code}',  # as Compose
                    detail=logs_tail(self.ctx, status.id) or None,
                    hint="dependents with condition service_completed_successfully were not started")

    # ---------------------------------------------------------------- down
    def remove_network(self, action: Action) -> None:
        with contextlib.suppress(NotFound):
            self._drop_stale_sandboxes(action.name)
            self.ctx.networks.remove_network(action.name)

    def _drop_stale_sandboxes(self, network: str) -> None:
        """Sandboxes on ``network`` whose container is gone (removed behind the project's back, or a
        crash between removing a container and its sandbox) would hold the network: drop them."""
        attached = self.ctx.networks.containers_on(network)
        if not attached:
            return
        alive = {s.name for s in self.ctx.runtime.list(all=True)}
        for sandbox in attached:
            if sandbox not in alive:
                self.ctx.networks.destroy_sandbox(sandbox)

    def remove_volume(self, action: Action) -> None:
        with contextlib.suppress(NotFound):
            self.ctx.volumes.remove(action.name, force=True)

    def remove_image(self, action: Action) -> None:
        with contextlib.suppress(NotFound):
            self.ctx.images.remove(action.name)


def wait_healthy(ctx: ProjectContext, service: str, timeout: float | None,
                 cancelled: threading.Event | None = None) -> None:
    """Block until every container of ``service`` is healthy; unhealthy or exited raises with
    context, and ``cancelled`` (Ctrl-C in the executor) stops the wait."""
    from stackfile.engine.project_containers import ensure_monitors, service_health

    deadline = None if timeout is None else time.monotonic() + timeout
    if ctx.config is not None and service_health(ctx, service) is None:
        _no_healthcheck(ctx, service)
    ensure_monitors(ctx, [service])
    while True:
        pending = []
        for status in ctx.containers():
            if status.labels.get(L.SERVICE) != service or status.labels.get(L.ONEOFF) == "True":
                continue
            record = read_health(health_path(ctx.paths, ctx.name, status.id))
            if status.state.value in ("exited", "dead"):
                detail = "\n".join(filter(None, [status.error, logs_tail(ctx, status.id)]))
                raise Unavailable(f"container {status.name} exited ({status.exit_code}) before it was "
                                  "healthy", detail=detail or None)
            if record is not None and record.status == "unhealthy":
                raise Unavailable(f"container {status.name} is unhealthy",
                                  detail=f"last health output: {record.last_output.strip()}\n"
                                         f"logs:\n{logs_tail(ctx, status.id)}")
            if record is None or record.status != "healthy":
                pending.append(status.name)
        if not pending:
            return
        if deadline is not None and time.monotonic() > deadline:
            raise Unavailable(f"timed out waiting for {', '.join(pending)} to be healthy",
                              hint="raise --wait-timeout or check the healthcheck")
        if cancelled is None:
            time.sleep(POLL)
        elif cancelled.wait(POLL):
            raise Cancelled(f"stopped waiting for {', '.join(pending)} to be healthy")


def _no_healthcheck(ctx: ProjectContext, service: str) -> None:
    """Compose's failure when a dependency waited on as healthy has no healthcheck (neither its
    own nor its image's ``HEALTHCHECK``, or ``disable: true``): at once, not a hang."""
    names = [s.name for s in ctx.containers()
             if s.labels.get(L.SERVICE) == service and s.labels.get(L.ONEOFF) != "True"] or [service]
    svc = ctx.service_config(service) or {}
    disabled = get(svc.get("healthcheck") or {}, "disable", False)
    raise Unavailable(f"dependency failed to start: container {names[0]} has no healthcheck configured",
                      location=Location(key_path=f"services.{service}.healthcheck" if disabled
                                        else f"services.{service}"),
                      hint="its healthcheck is disabled" if disabled else
                      "add a healthcheck to the service (or a HEALTHCHECK to its image), or depend on it "
                      "with condition: service_started")
