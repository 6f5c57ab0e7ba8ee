"""The per-container commands of a project: ps, start, stop, restart, kill, rm, pause, unpause,
exec, run, top, port, images, ls. They work from labels (observed state), so they keep working when
the stack file changed or is gone; ``run`` and ``exec`` need the file for the service's settings.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from stackfile.engine.project_context import ProjectContext, open_project
from stackfile.engine.project_lock import changing
from stackfile.engine.project_status import ps, ps_entry
from stackfile.errors import InvalidSpec, NotFound, StackfileError
from stackfile.events import Event, EventSink, discard
from stackfile.graph import Graph
from stackfile.reconcile import labels as L

__all__ = [
    "ExecOptions",
    "RunOptions",
    "exec_",
    "images",
    "kill",
    "ls",
    "pause",
    "port",
    "ps",
    "ps_entry",
    "restart",
    "rm",
    "run",
    "select",
    "start",
    "stop",
    "top",
    "unpause",
]


def select(ctx: ProjectContext, services: Iterable[str] = (), *, all: bool = True,
           oneoff: bool = False) -> list[Any]:
    """The project's containers of ``services`` (all when empty), one-offs only when asked."""
    wanted = set(services)
    if ctx.project is not None:
        valid = ctx.defined_service_names()
        for name in sorted(wanted - set(valid)):
            raise NotFound(f"no such service: {name}", hint="services are: " + ", ".join(valid))
    return [s for s in ctx.containers(all=all)
            if (not wanted or s.labels.get(L.SERVICE) in wanted)
            and (oneoff or s.labels.get(L.ONEOFF) != "True")]


def _levels(statuses: list[Any], reverse: bool) -> list[list[Any]]:
    """Groups in dependency order from the ``depends-on`` labels (dependents first if ``reverse``)."""
    by_service: dict[str, list[Any]] = {}
    graph: Graph[str] = Graph()
    for s in statuses:
        service = s.labels.get(L.SERVICE, "")
        by_service.setdefault(service, []).append(s)
        graph.add_node(service)
    for s in statuses:
        for dep in filter(None, s.labels.get(L.DEPENDS_ON, "").split(",")):
            if dep in by_service:
                graph.add_edge(s.labels.get(L.SERVICE, ""), dep)
    levels = graph.levels()
    if reverse:
        levels.reverse()
    return [[c for svc in level for c in by_service[svc]] for level in levels]


def _each(ctx: ProjectContext, statuses: list[Any], fn: Callable[[Any], None], verb: str,
          reverse: bool = False) -> list[str]:
    done: list[str] = []
    errors: list[str] = []
    for level in _levels(statuses, reverse):
        from concurrent.futures import ThreadPoolExecutor  # with logging: ~4 ms, not on up's path

        with ThreadPoolExecutor(max_workers=8) as pool:
            for status, error in zip(level, pool.map(lambda s: _try(fn, s), level), strict=True):
                if error:
                    errors.append(f"{status.name}: {error}")
                else:
                    done.append(status.name)
                    ctx.sink(Event(f"container.{verb}", status.name))
    if errors:
        raise StackfileError(f"could not {verb} {len(errors)} container(s)", detail="\n".join(errors))
    return sorted(done)


def _try(fn: Callable[[Any], None], status: Any) -> str:
    try:
        fn(status)
    except StackfileError as exc:
        return exc.message
    return ""


def _ctx(opts: Any, sink: EventSink) -> ProjectContext:
    return open_project(opts, sink=sink, require_file=False)


def start(opts: Any, services: Iterable[str] = (), *, sink: EventSink = discard) -> list[str]:
    """Start the services' existing stopped containers, dependencies first."""
    from stackfile.engine.project_containers import start_container

    ctx = _ctx(opts, sink)
    with changing(ctx.paths, ctx.name, sink):
        todo = [s for s in select(ctx, services) if s.state.value in ("created", "exited", "dead")]
        return _each(ctx, todo, lambda s: start_container(ctx, s.id, s.labels.get(L.SERVICE, ""), s.name),
                     "start")


def stop(opts: Any, services: Iterable[str] = (), *, timeout: float | None = None,
         sink: EventSink = discard) -> list[str]:
    """Stop running containers, dependents first; their published host ports are freed."""
    from stackfile.engine.project_containers import stop_container

    ctx = _ctx(opts, sink)
    with changing(ctx.paths, ctx.name, sink):
        todo = [s for s in select(ctx, services) if s.state.value in ("running", "paused", "restarting")]
        return _each(ctx, todo, lambda s: stop_container(ctx, s.id, s.name, timeout=timeout), "stop",
                     reverse=True)


def restart(opts: Any, services: Iterable[str] = (), *, timeout: float | None = None,
            sink: EventSink = discard) -> list[str]:
    """Restart the services' containers (running or not)."""
    from stackfile.engine.project_containers import restart_container

    ctx = _ctx(opts, sink)
    with changing(ctx.paths, ctx.name, sink):
        def one(s: Any) -> None:
            restart_container(ctx, s.id, s.name, s.labels.get(L.SERVICE, ""), timeout=timeout)

        done = _each(ctx, select(ctx, services), one, "restart")
        followers = _restart_followers(ctx, set(services))
        if services and followers:  # depends_on.restart: true follows a restarted dependency
            done += _each(ctx, select(ctx, followers), one, "restart")
        return sorted(done)


def _restart_followers(ctx: ProjectContext, restarted: set[str]) -> list[str]:
    from stackfile.reconcile.desired import desired_services

    if ctx.config is None or not restarted:
        return []
    return sorted(name for name, svc in desired_services(ctx.config).items() if name not in restarted
                  and any(d.restart and d.service in restarted for d in svc.depends_on))


def kill(opts: Any, services: Iterable[str] = (), *, signal: str = "SIGKILL",
         sink: EventSink = discard) -> list[str]:
    ctx = _ctx(opts, sink)
    with changing(ctx.paths, ctx.name, sink):
        todo = [s for s in select(ctx, services) if s.state.value in ("running", "paused", "restarting")]
        return _each(ctx, todo, lambda s: ctx.runtime.kill(s.id, signal), "kill", reverse=True)


def pause(opts: Any, services: Iterable[str] = (), *, sink: EventSink = discard) -> list[str]:
    ctx = _ctx(opts, sink)
    with changing(ctx.paths, ctx.name, sink):
        todo = [s for s in select(ctx, services) if s.state.value == "running"]
        return _each(ctx, todo, lambda s: ctx.runtime.pause(s.id), "pause")


def unpause(opts: Any, services: Iterable[str] = (), *, sink: EventSink = discard) -> list[str]:
    ctx = _ctx(opts, sink)
    with changing(ctx.paths, ctx.name, sink):
        todo = [s for s in select(ctx, services) if s.state.value == "paused"]
        return _each(ctx, todo, lambda s: ctx.runtime.unpause(s.id), "unpause")


def rm(opts: Any, services: Iterable[str] = (), *, stop_first: bool = False, volumes: bool = False,
       timeout: float | None = None, dry_run: bool = False, sink: EventSink = discard) -> list[str]:
    """Remove stopped containers (``stop_first``: stop them before); anonymous volumes with ``volumes``."""
    from stackfile.engine.project_containers import remove_container

    ctx = _ctx(opts, sink)
    with changing(ctx.paths, ctx.name, sink):
        found = select(ctx, services, oneoff=True)
        if stop_first:
            _each(ctx, [s for s in found if s.state.value in ("running", "paused")],
                  lambda s: ctx.runtime.stop(s.id, timeout=timeout), "stop", reverse=True)
            found = select(ctx, services, oneoff=True)
        todo = [s for s in found if s.state.value not in ("running", "paused", "restarting")]
        if dry_run:
            return sorted(s.name for s in todo)

        def one(s: Any) -> None:
            remove_container(ctx, s.id, s.name, timeout=timeout, anonymous_volumes=volumes)

        return _each(ctx, todo, one, "remove", reverse=True)


def _one_container(ctx: ProjectContext, service: str, index: int) -> Any:
    found = [s for s in select(ctx, [service], all=True) if s.labels.get(L.NUMBER) == str(index)]
    running = [s for s in found if s.state.value in ("running", "paused", "restarting")]
    if not running:
        raise NotFound(f"service {service!r} has no running container #{index}",
                       hint="start it with 'stackfile up -d " + service + "'")
    return running[0]


@dataclass(frozen=True)
class ExecOptions:
    """``exec``'s flags (a dataclass: a NamedTuple cannot have an ``index`` field)."""

    index: int = 1
    user: str = ""
    workdir: str = ""
    env: dict[str, str] = field(default_factory=dict)
    tty: bool = False
    interactive: bool = True
    detach: bool = False
    privileged: bool = False


def exec_(opts: Any, service: str, argv: list[str], options: ExecOptions = ExecOptions(), *,
          sink: EventSink = discard, stdio: tuple[int, int, int] | None = None) -> int:
    """Run a command in a running container of ``service`` (on the caller's stdio, or on
    ``stdio``); returns its exit code."""
    from stackfile.runtime.api import ExecSpec

    if not argv:
        raise InvalidSpec("exec needs a command", hint="stackfile exec SERVICE COMMAND [ARGS...]")
    ctx = _ctx(opts, sink)
    target = _one_container(ctx, service, options.index)
    spec = ExecSpec(argv=tuple(argv), env=dict(options.env), cwd=options.workdir, user=options.user,
                    tty=options.tty, stdin_open=options.interactive, privileged=options.privileged)
    if options.detach:
        _exec_detached(ctx, target.id, spec)
        return 0
    if stdio is not None:
        return int(ctx.runtime.exec(target.id, spec, stdio))
    return int(ctx.runtime.exec(target.id, spec))


def _exec_detached(ctx: ProjectContext, container_id: str, spec: Any) -> None:
    """``exec -d``: a forked child in its own session, stdio on /dev/null, runs the exec and exits."""
    import os

    if os.fork() != 0:
        return
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        ctx.runtime.exec(container_id, spec)
    finally:
        os._exit(0)


class RunOptions(NamedTuple):
    """``run``'s flags."""

    remove: bool = False
    detach: bool = False
    name: str = ""
    entrypoint: list[str] | None = None
    user: str = ""
    workdir: str = ""
    env: Mapping[str, str] = MappingProxyType({})
    service_ports: bool = False
    no_deps: bool = False
    tty: bool = False
    interactive: bool = True
    labels: Mapping[str, str] = MappingProxyType({})


def run(opts: Any, service: str, argv: list[str], options: RunOptions = RunOptions(), *,
        sink: EventSink = discard) -> tuple[str, int]:
    """A one-off container of ``service`` (dependencies started first unless ``no_deps``).

    Returns ``(container id, exit code)``; with ``detach`` the code is 0 and it keeps running.
    """
    import secrets

    from stackfile.engine.project_run import run_oneoff

    ctx = open_project(opts, sink=sink, services=[service])  # a profiled service runs when named
    ctx.stack.service(service)
    name = options.name or f"{ctx.name}-{service}-run-{secrets.token_hex(6)}"
    return run_oneoff(ctx, opts, service, argv, options, name)


def top(opts: Any, services: Iterable[str] = (), *,
        sink: EventSink = discard) -> dict[str, list[dict[str, str]]]:
    """The processes of each running container, by container name."""
    ctx = _ctx(opts, sink)
    return {s.name: ctx.runtime.top(s.id) for s in select(ctx, services, all=False)}


def port(opts: Any, service: str, private_port: int, *, protocol: str = "tcp", index: int = 1,
         sink: EventSink = discard) -> str:
    """``host_ip:host_port`` a container port of a service is published on."""
    ctx = _ctx(opts, sink)
    target = _one_container(ctx, service, index)
    with contextlib.suppress(NotFound):
        for bound in ctx.networks.ports(target.name, private_port, protocol):
            return f"{bound.host_ip or '0.0.0.0'}:{bound.host_port}"
    raise NotFound(f"port {private_port}/{protocol} of service {service!r} is not published")


def images(opts: Any, services: Iterable[str] = (), *, sink: EventSink = discard) -> list[dict[str, Any]]:
    """The images the project's containers use (Compose's ``images`` columns)."""
    ctx = _ctx(opts, sink)
    rows = []
    for s in select(ctx, services, oneoff=True):
        image_id = s.labels.get(L.IMAGE, "")
        record = ctx.images.resolve(image_id) if image_id else None
        repo, _, tag = (s.image or "").partition(":")
        rows.append({"ContainerName": s.name, "Repository": repo, "Tag": tag or "latest",
                     "ID": image_id.split(":")[-1][:12], "Size": _image_size(ctx, record)})
    return rows


def _image_size(ctx: ProjectContext, record: Any) -> int:
    if record is None:
        return 0
    total = 0
    for layer in record.lower_dirs(ctx.paths):
        with contextlib.suppress(OSError):
            import os

            for root, _dirs, files in os.walk(layer):
                for f in files:
                    with contextlib.suppress(OSError):
                        total += os.lstat(os.path.join(root, f)).st_size
    return total


def ls(root: str, *, all: bool = False) -> list[dict[str, str]]:
    """Projects that have containers in the store: name, status summary, working dir."""
    from stackfile.runtime import get_runtime
    from stackfile.store.paths import StorePaths

    projects: dict[str, list[Any]] = {}
    for s in get_runtime(StorePaths.at(root)).list(all=True):
        name = s.labels.get(L.PROJECT)
        if name:
            projects.setdefault(name, []).append(s)
    rows = []
    for name in sorted(projects):
        states: dict[str, int] = {}
        for s in projects[name]:
            states[s.state.value] = states.get(s.state.value, 0) + 1
        if not all and "running" not in states:
            continue
        status = ", ".join(f"{k}({v})" for k, v in sorted(states.items()))
        rows.append({"Name": name, "Status": status,
                     "ConfigFiles": projects[name][0].labels.get(L.CONFIG_FILES, "")})
    return rows
