"""``/v1/images``: list, inspect, rm."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from stackfile.daemon.app import blocking, reply, state
from stackfile.daemon.models import ImageSummary
from stackfile.daemon.routes import Param, route

TAG = "images"


@route("GET", "/images", "List images, newest first", TAG, result=list[ImageSummary])
async def list_images(request: web.Request) -> web.Response:
    from stackfile.engine.images import list_images as engine_list

    rows = await blocking(request, engine_list, state(request).paths)
    return reply([ImageSummary(Id=img.id, ShortId=img.short_id, Names=list(img.names), Created=img.created,
                               Size=size) for img, size in rows])


@route("GET", "/images/{ref}", "Inspect an image (Docker's shape)", TAG, result=dict)
async def inspect(request: web.Request) -> web.Response:
    from stackfile.engine.images import inspect_image

    ref = request.match_info["ref"]
    doc: dict[str, Any] = await blocking(request, inspect_image, state(request).paths, ref)
    return reply(doc)


@route("DELETE", "/images/{ref}", "Remove an image (by name: untag; by id: delete)", TAG, result=list[str],
       params=(Param("force", type="boolean"),))
async def remove(request: web.Request) -> web.Response:
    from stackfile.engine.images import remove_images

    force = request.query.get("force", "") in ("1", "true")
    lines = await blocking(request, lambda: remove_images(state(request).paths, [request.match_info["ref"]],
                                                          force=force))
    return reply(list(lines))
