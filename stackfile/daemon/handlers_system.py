"""``/v1/_ping``, ``/v1/version``, ``/v1/info`` and ``/v1/openapi.json``."""

from __future__ import annotations

import os
import platform

from aiohttp import web

from stackfile import __version__
from stackfile.daemon.app import blocking, reply, state
from stackfile.daemon.models import Info, Version
from stackfile.daemon.routes import route

API_VERSION = "1.0"


@route("GET", "/_ping", "Answer OK when the daemon serves", "system", result=str)
async def ping(request: web.Request) -> web.Response:
    return web.Response(text="OK", headers={"API-Version": API_VERSION})


@route("GET", "/version", "The daemon's version", "system", result=Version)
async def version(request: web.Request) -> web.Response:
    uname = os.uname()
    return reply(Version(version=__version__, api_version=API_VERSION, python=platform.python_version(),
                         os=uname.sysname.lower(), arch=uname.machine))


def _info(request: web.Request) -> Info:
    from stackfile.engine import containers as engine
    from stackfile.engine.images import list_images

    paths = state(request).paths
    items = engine.runtime(paths).list(all=True)
    cgroup = "v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "v1"
    return Info(root=paths.root_str, containers=len(items),
                containers_running=sum(1 for c in items if c.state.value == "running"),
                images=len(list_images(paths)), kernel=os.uname().release, cgroup=cgroup, pid=os.getpid())


@route("GET", "/info", "The store root and what it holds", "system", result=Info)
async def info(request: web.Request) -> web.Response:
    return reply(await blocking(request, _info, request))


@route("GET", "/openapi.json", "This API's OpenAPI 3.1 document", "system", result=dict)
async def openapi(request: web.Request) -> web.Response:
    from stackfile.daemon.openapi import document

    return reply(document())
