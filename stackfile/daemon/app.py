"""The aiohttp application: errors as JSON, blocking engine calls off the event loop, JSON-lines
streams fed from the engine's iterators by a thread each (a long ``logs -f`` never blocks others)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pydantic
from aiohttp import web

from stackfile.errors import InvalidSpec, Location, StackfileError
from stackfile.store.paths import StorePaths

__all__ = ["API", "State", "blocking", "error_body", "make_app", "read_body", "reply", "state", "stream"]

API = "/v1"
log = logging.getLogger("stackfile.daemon")
M = TypeVar("M", bound=pydantic.BaseModel)
T = TypeVar("T")


@dataclass
class State:
    """What every handler shares: the store, a pool for engine calls, a lock per project."""

    paths: StorePaths
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(64, "engine"))
    project_locks: dict[str, threading.Lock] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def project_lock(self, name: str) -> threading.Lock:
        """One operation at a time per project (two ``up`` of one project would race)."""
        with self.guard:
            return self.project_locks.setdefault(name, threading.Lock())


STATE_KEY = web.AppKey("state", State)


def state(request: web.Request) -> State:
    """The daemon's shared state."""
    return request.app[STATE_KEY]


def error_body(exc: StackfileError) -> dict[str, Any]:
    """``{message, kind, location?, hint?}`` of an engine error."""
    out: dict[str, Any] = {"message": exc.message, "kind": exc.category.value, "exit_code": exc.exit_code}
    if exc.location is not None and str(exc.location):
        out["location"] = str(exc.location)
    if exc.hint:
        out["hint"] = exc.hint
    if exc.detail:
        out["message"] += "\n" + exc.detail.rstrip()
    return out


def _json_error(status: int, message: str, kind: str, hint: str | None = None) -> web.Response:
    body: dict[str, Any] = {"message": message, "kind": kind}
    if hint:
        body["hint"] = hint
    return web.json_response(body, status=status)


def _check_text(request: web.Request) -> None:
    """No path or query value carries a control character (a NUL would reach the file system)."""
    for where, items in (("path", request.match_info.items()), ("query", request.query.items())):
        for key, value in items:
            if any(ord(ch) < 32 or ch == "\x7f" for ch in value):
                raise InvalidSpec(f"the {where} parameter {key} holds a control character",
                                  location=Location(key_path=key),
                                  hint="names and references are printable text")


@web.middleware
async def errors(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """Every failure becomes a JSON error with the status of its category; 500 only for bugs."""
    try:
        _check_text(request)
        response: web.StreamResponse = await handler(request)
        return response
    except StackfileError as exc:
        return web.json_response(error_body(exc), status=exc.http_status)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return web.json_response({"message": f"invalid request: {first['msg']}", "kind": "invalid-spec",
                                  **({"location": where} if where else {})}, status=400)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kind = {404: "not-found", 405: "invalid-spec", 413: "invalid-spec"}.get(exc.status, "invalid-spec")
        return _json_error(exc.status, exc.reason, kind)
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception as exc:  # a bug: say so, keep serving
        log.exception("internal error on %s %s", request.method, request.path)
        return _json_error(500, f"internal error: {type(exc).__name__}: {exc}", "internal",
                           "this is a bug in stackfile; the daemon's log has the traceback")


async def read_body(request: web.Request, model: type[M]) -> M:
    """The request's JSON body validated as ``model`` (400 when it is not)."""
    raw = await request.read()
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise InvalidSpec(f"the request body is not JSON: {exc}", hint="send application/json") from None
    return model.model_validate(data)


def reply(value: Any, status: int = 200) -> web.Response:
    """A JSON answer of a model, a list of models or plain data."""
    if isinstance(value, pydantic.BaseModel):
        text = value.model_dump_json()
    elif isinstance(value, list) and value and isinstance(value[0], pydantic.BaseModel):
        text = "[" + ",".join(v.model_dump_json() for v in value) + "]"
    else:
        text = json.dumps(value)
    return web.Response(text=text, status=status, content_type="application/json")


async def blocking(request: web.Request, fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking engine call on the pool."""
    return await asyncio.get_running_loop().run_in_executor(state(request).pool, fn, *args)


_END = object()


async def stream(request: web.Request, produce: Callable[[], Iterable[dict[str, Any]]]) -> web.StreamResponse:
    """Stream the dicts ``produce()`` yields as JSON lines (``application/x-ndjson``), produced on
    a thread of their own. An error before the first line is an ordinary error answer; one after it
    is the stream's last line ``{"kind": "error", "error": {...}}``. A client that goes away stops
    the producer at its next line."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=256)
    stop = threading.Event()

    def put(item: Any) -> None:
        asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()

    def work() -> None:
        try:
            it: Iterator[dict[str, Any]] = iter(produce())
            for item in it:
                if stop.is_set():
                    close = getattr(it, "close", None)
                    if close is not None:
                        close()
                    return
                put(item)
            put(_END)
        except BaseException as exc:  # handed to the event loop, which answers or ends the stream
            if not stop.is_set():
                put(exc)

    threading.Thread(target=work, name="stream", daemon=True).start()
    first = await queue.get()
    if isinstance(first, BaseException):
        stop.set()
        raise first
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    item = first
    try:
        while item is not _END:
            if isinstance(item, StackfileError):
                line = {"kind": "error", "error": error_body(item)}
                await response.write((json.dumps(line) + "\n").encode())
                break
            if isinstance(item, BaseException):
                log.error("internal error in a stream of %s", request.path, exc_info=item)
                body = {"message": f"internal error: {type(item).__name__}: {item}", "kind": "internal"}
                await response.write((json.dumps({"kind": "error", "error": body}) + "\n").encode())
                break
            await response.write((json.dumps(item) + "\n").encode())
            item = await queue.get()
    finally:
        stop.set()
        while not queue.empty():  # unblock a producer waiting on a full queue
            queue.get_nowait()
    await response.write_eof()
    return response


def make_app(st: State) -> web.Application:
    """The application with every registered route under ``/v1``."""
    from stackfile.daemon import handlers_containers, handlers_images, handlers_projects, handlers_system
    from stackfile.daemon.routes import ROUTES

    del handlers_containers, handlers_images, handlers_projects, handlers_system  # imported to register
    app = web.Application(middlewares=[errors], client_max_size=1 << 30)
    app[STATE_KEY] = st
    for r in ROUTES:
        app.router.add_route(r.method, API + r.path, r.handler)
    return app
