"""``/v1/containers``: list, inspect, run (detached or attached as a stream), stop, kill, rm,
logs and wait over the engine's container use cases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiohttp import web

from stackfile.daemon.app import blocking, read_body, reply, state, stream
from stackfile.daemon.models import (
    ContainerRunRequest,
    ContainerRunResult,
    ContainerSummary,
    LogLine,
    RefResult,
    WaitResult,
)
from stackfile.daemon.piped import piped
from stackfile.daemon.routes import Param, route
from stackfile.errors import InvalidSpec, Location

TAG = "containers"


def _summary(st: Any) -> ContainerSummary:
    return ContainerSummary(
        Id=st.id, Name=st.name, Image=st.image, Command=list(st.command), State=st.state.value, Pid=st.pid,
        ExitCode=st.exit_code, OOMKilled=st.oom_killed, Created=st.created_at, StartedAt=st.started_at,
        FinishedAt=st.finished_at, RestartCount=st.restart_count, Labels=dict(st.labels), Error=st.error)


def _flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name, "")
    if value not in ("", "0", "1", "true", "false"):
        raise InvalidSpec(f"query parameter {name}={value!r} is not a boolean",
                          location=Location(key_path=name), hint="1, 0, true or false")
    return value in ("1", "true")


def _number(request: web.Request, name: str) -> float | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidSpec(f"query parameter {name}={value!r} is not a number",
                          location=Location(key_path=name)) from None


def _rt(request: web.Request) -> Any:
    from stackfile.engine import containers as engine

    return engine.runtime(state(request).paths)


@route("GET", "/containers", "List containers", TAG, result=list[ContainerSummary],
       params=(Param("all", type="boolean", description="stopped ones too"),
               Param("label", description="KEY=VALUE, repeatable")))
async def list_containers(request: web.Request) -> web.Response:
    labels = dict(item.partition("=")[::2] for item in request.query.getall("label", []))
    show_all = _flag(request, "all")
    items = await blocking(request, lambda: _rt(request).list(all=show_all, labels=labels))
    return reply([_summary(st) for st in items])


@route("GET", "/containers/{ref}", "Inspect a container (state and its spec)", TAG, result=dict)
async def inspect(request: web.Request) -> web.Response:
    from stackfile.engine import containers as engine

    ref = request.match_info["ref"]

    def work() -> dict[str, Any]:
        rt = _rt(request)
        st = rt.inspect(ref)
        return {**_summary(st).model_dump(), "Config": engine.spec_dict(rt, st.id)}

    return web.json_response(await blocking(request, work), dumps=_dumps)


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, default=str)


def _run_options(body: ContainerRunRequest, *, detach: bool, rm: bool) -> Any:
    from stackfile.engine.container_options import RunOptions

    data = body.model_dump()
    data.update(detach=detach, rm=rm)
    for key, value in data.items():
        if isinstance(value, list):
            data[key] = tuple(value)
    return RunOptions(**data)


@route("POST", "/containers", "Create and start a container in the background (run -d)", TAG,
       body=ContainerRunRequest, result=ContainerRunResult, status=201)
async def run_detached(request: web.Request) -> web.Response:
    from stackfile.engine import containers as engine

    body = await read_body(request, ContainerRunRequest)
    opts = _run_options(body, detach=True, rm=body.rm)
    result = await blocking(request, engine.run, state(request).paths, opts, {})
    return reply(ContainerRunResult(Id=result.id), status=201)


@route("POST", "/containers/run", "Run a container attached: its output as it comes, then its exit code", TAG,
       body=ContainerRunRequest, stream=dict)
async def run_attached(request: web.Request) -> web.StreamResponse:
    """JSON lines ``{"kind": "stdout"|"stderr", "data"}`` (the bytes as UTF-8 with surrogate
    escapes, so binary output survives) and last ``{"kind": "exit", "code"}``. The container runs
    in the foreground of the daemon with pipes for its output, as the in-process CLI runs it on its
    terminal (no shim to start); with ``rm`` it is removed once it exited. A start failure is an
    ordinary error answer carrying Docker's exit code (125/126/127)."""

    body = await read_body(request, ContainerRunRequest)
    paths = state(request).paths
    return await stream(request, lambda: _attached(paths, _run_options(body, detach=False, rm=body.rm)))


def _attached(paths: Any, opts: Any) -> Iterator[dict[str, Any]]:
    from stackfile.engine import containers as engine

    return piped(lambda stdio: int(engine.run(paths, opts, {}, stdio=stdio).exit_code or 0))


@route("POST", "/containers/{ref}/stop", "Stop a container (stop signal, grace period, SIGKILL)", TAG,
       result=RefResult, params=(Param("t", type="number", description="seconds before SIGKILL"),))
async def stop(request: web.Request) -> web.Response:
    from stackfile.engine import container_lifecycle as life

    ref = request.match_info["ref"]
    await blocking(request, life.stop, state(request).paths, ref, _number(request, "t"))
    return reply(RefResult(ref=ref))


@route("POST", "/containers/{ref}/kill", "Send a signal to a container", TAG, result=RefResult,
       params=(Param("signal", description="default SIGKILL"),))
async def kill(request: web.Request) -> web.Response:
    ref = request.match_info["ref"]
    sig = request.query.get("signal") or "SIGKILL"
    await blocking(request, lambda: _rt(request).kill(ref, sig))
    return reply(RefResult(ref=ref))


@route("DELETE", "/containers/{ref}", "Remove a container", TAG, result=RefResult,
       params=(Param("force", type="boolean", description="kill it first when running"),))
async def remove(request: web.Request) -> web.Response:
    from stackfile.engine import container_lifecycle as life

    ref = request.match_info["ref"]
    force = _flag(request, "force")
    await blocking(request, lambda: life.remove(state(request).paths, ref, force=force))
    return reply(RefResult(ref=ref))


@route("POST", "/containers/{ref}/wait", "Block until the container stops; its exit code", TAG,
       result=WaitResult)
async def wait(request: web.Request) -> web.Response:
    ref = request.match_info["ref"]
    code = await blocking(request, lambda: _rt(request).wait(ref))
    return reply(WaitResult(StatusCode=code))


@route("GET", "/containers/{ref}/logs", "A container's output as JSON lines (follow: until it stops)", TAG,
       stream=LogLine, params=(Param("follow", type="boolean"), Param("tail", description="a number or all"),
                               Param("since", description="RFC 3339, Unix time or a duration")))
async def logs(request: web.Request) -> web.StreamResponse:
    from stackfile.engine import containers as engine

    ref = request.match_info["ref"]
    tail_text = request.query.get("tail", "all")
    if tail_text != "all" and not tail_text.isdigit():
        raise InvalidSpec(f"tail={tail_text!r}: a number or 'all'", location=Location(key_path="tail"))
    tail = None if tail_text == "all" else int(tail_text)
    follow, since = _flag(request, "follow"), request.query.get("since") or None
    paths = state(request).paths

    def produce() -> Iterator[dict[str, Any]]:
        for line in engine.logs(paths, ref, follow=follow, tail=tail, since=since):
            yield {"time": line.time, "stream": line.stream, "text": line.text}

    return await stream(request, produce)
