"""The route table: each handler is registered with its method, path and the models of its
body, answer and stream, so the server and the OpenAPI document come from one definition."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["ROUTES", "Param", "Route", "route"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Param:
    """A path or query parameter."""

    name: str
    where: str = "query"  # or "path"
    type: str = "string"  # JSON schema type
    description: str = ""


@dataclass(frozen=True)
class Route:
    """One endpoint."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type | None = None
    result: Any = None  # a model, list[model], str (text/plain) or None (204)
    stream: type | None = None  # a model streamed as JSON lines
    params: tuple[Param, ...] = field(default_factory=tuple)
    status: int = 200


ROUTES: list[Route] = []


def route(method: str, path: str, summary: str, tag: str, *, body: type | None = None, result: Any = None,
          stream: type | None = None, params: tuple[Param, ...] = (), status: int = 200
          ) -> Callable[[Handler], Handler]:
    """Register the decorated handler for ``method path`` (``{name}`` parts are path parameters)."""

    def register(handler: Handler) -> Handler:
        names = [p.name for p in params]
        path_params = tuple(Param(part[1:-1], "path") for part in path.split("/")
                            if part.startswith("{") and part[1:-1] not in names)
        ROUTES.append(Route(method, path, handler, summary, tag, body, result, stream, path_params + params,
                            status))
        return handler

    return register
