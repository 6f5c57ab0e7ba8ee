"""``/v1/projects/{name}``: upload a resolved project, then ``up``, ``ps``, ``logs`` and ``down``
on it; progress and log lines stream as JSON lines."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web

from stackfile.daemon import projects
from stackfile.daemon.app import blocking, read_body, reply, state, stream
from stackfile.daemon.models import (
    DownRequest,
    Event,
    ExecRequest,
    ProjectLogLine,
    ProjectUpload,
    PsRow,
    UpRequest,
)
from stackfile.daemon.piped import piped
from stackfile.daemon.routes import Param, route
from stackfile.errors import InvalidSpec, Location

TAG = "projects"
_DONE = object()


def event_dict(event: Any) -> dict[str, Any]:
    """An engine event as the API's :class:`Event`."""
    out: dict[str, Any] = {"kind": event.kind, "message": event.message}
    action = getattr(event, "action", None)
    if action is not None:
        out["action"] = {"kind": action.kind.value, "target": action.target, "name": action.name}
    elapsed = getattr(event, "elapsed", None)
    if elapsed is not None:
        out["elapsed"] = elapsed
    return out


def _with_events(lock: threading.Lock, call: Callable[[Callable[[Any], None]], object]
                 ) -> Iterator[dict[str, Any]]:
    """Run ``call(sink)`` on a thread; yield the events it emits, then ``{"kind": "done"}``."""
    events: queue.Queue[Any] = queue.Queue()

    def work() -> None:
        try:
            with lock:
                call(lambda e: events.put(event_dict(e)))
            events.put(_DONE)
        except BaseException as exc:
            events.put(exc)

    threading.Thread(target=work, name="project-op", daemon=True).start()
    while True:
        item = events.get()
        if item is _DONE:
            yield {"kind": "done"}
            return
        if isinstance(item, BaseException):
            raise item
        yield item


@route("PUT", "/projects/{name}", "Upload a resolved project and the files it needs", TAG, body=ProjectUpload,
       status=204)
async def upload(request: web.Request) -> web.Response:
    body = await read_body(request, ProjectUpload)
    name = request.match_info["name"]
    st = state(request)

    def work() -> None:
        with st.project_lock(name):
            projects.save(st.paths, name, body.config, body.working_dir, body.files_tar_gz_b64)

    await blocking(request, work)
    return web.Response(status=204)


@route("POST", "/projects/{name}/up", "Create and start the project's containers (up -d [--wait])", TAG,
       body=UpRequest, stream=Event)
async def up(request: web.Request) -> web.StreamResponse:
    from stackfile.engine.project import UpOptions
    from stackfile.engine.project import up as engine_up
    from stackfile.reconcile.planner import PlanOptions

    body = await read_body(request, UpRequest)
    if body.build and body.no_build:
        raise InvalidSpec("build and no_build are incompatible", location=Location(key_path="no_build"))
    if body.force_recreate and body.no_recreate:
        raise InvalidSpec("force_recreate and no_recreate are incompatible",
                          location=Location(key_path="no_recreate"))
    st, name = state(request), request.match_info["name"]
    opts = projects.options(st.paths, name)
    plan = PlanOptions(services=tuple(body.services), no_deps=body.no_deps,
                       force_recreate=body.force_recreate, no_recreate=body.no_recreate,
                       remove_orphans=body.remove_orphans, build=body.build,
                       no_build=body.no_build, no_start=body.no_start)
    options = UpOptions(plan=plan, wait=body.wait, wait_timeout=body.wait_timeout, timeout=body.timeout)
    return await stream(request, lambda: _with_events(st.project_lock(name),
                                                      lambda sink: engine_up(opts, options, sink=sink)))


@route("POST", "/projects/{name}/down", "Stop and remove the project's containers and networks", TAG,
       body=DownRequest, stream=Event)
async def down(request: web.Request) -> web.StreamResponse:
    from stackfile.engine.project import DownOptions
    from stackfile.engine.project import down as engine_down

    body = await read_body(request, DownRequest)
    st, name = state(request), request.match_info["name"]
    opts = projects.options(st.paths, name)
    options = DownOptions(volumes=body.volumes, rmi=body.rmi, remove_orphans=body.remove_orphans,
                          timeout=body.timeout)
    return await stream(request, lambda: _with_events(st.project_lock(name),
                                                      lambda sink: engine_down(opts, options, sink=sink)))


@route("POST", "/projects/{name}/exec", "Run a command in a service's running container (exec -T)", TAG,
       body=ExecRequest, stream=dict)
async def exec_(request: web.Request) -> web.StreamResponse:
    """JSON lines ``{"kind": "stdout"|"stderr", "data"}`` then ``{"kind": "exit", "code"}``."""
    from stackfile.engine.project_ops import ExecOptions
    from stackfile.engine.project_ops import exec_ as engine_exec

    body = await read_body(request, ExecRequest)
    opts = projects.options(state(request).paths, request.match_info["name"])
    options = ExecOptions(index=body.index, user=body.user, workdir=body.workdir, env=dict(body.env),
                          tty=False, interactive=False, detach=False, privileged=body.privileged)
    return await stream(request, lambda: piped(
        lambda stdio: engine_exec(opts, body.service, list(body.command), options, stdio=stdio)))


@route("GET", "/projects/{name}/ps", "The project's containers (ps --format json rows)", TAG,
       result=list[PsRow], params=(Param("all", type="boolean"), Param("service", description="repeatable")))
async def ps(request: web.Request) -> web.Response:
    from stackfile.engine.project_status import ps_report

    st, name = state(request), request.match_info["name"]
    opts = projects.options(st.paths, name)
    services = tuple(request.query.getall("service", []))
    show_all = request.query.get("all", "") in ("1", "true")
    rows, _watcher = await blocking(request, lambda: ps_report(opts, services, all=show_all))
    return reply(rows)


@route("GET", "/projects/{name}/logs", "The project's log lines as JSON lines", TAG, stream=ProjectLogLine,
       params=(Param("service", description="repeatable"), Param("follow", type="boolean"),
               Param("tail", description="a number or all"), Param("since"), Param("until")))
async def logs(request: web.Request) -> web.StreamResponse:
    from stackfile.engine.project_logs import logs as engine_logs

    st, name = state(request), request.match_info["name"]
    opts = projects.options(st.paths, name)
    tail_text = request.query.get("tail", "all")
    if tail_text != "all" and not tail_text.isdigit():
        raise InvalidSpec(f"tail={tail_text!r}: a number or 'all'", location=Location(key_path="tail"))
    services = tuple(request.query.getall("service", []))
    follow = request.query.get("follow", "") in ("1", "true")

    def produce() -> Iterator[dict[str, Any]]:
        tail = None if tail_text == "all" else int(tail_text)
        since, until = request.query.get("since") or None, request.query.get("until") or None
        for line in engine_logs(opts, services, follow=follow, tail=tail, since=since, until=until):
            yield line._asdict()

    return await stream(request, produce)
