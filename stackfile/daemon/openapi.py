"""The OpenAPI 3.1 document, generated from the route table and the pydantic models."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, TypeAdapter

from stackfile import __version__
from stackfile.daemon.app import API
from stackfile.daemon.models import Error
from stackfile.daemon.routes import ROUTES, Route

__all__ = ["document"]

REF = "#/components/schemas/{model}"
ERRORS = {"400": "invalid request", "404": "not found", "409": "conflict", "500": "a bug in stackfile",
          "503": "unavailable"}


def _schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if tp is str:
        return {"type": "string"}
    if tp is dict:
        return {"type": "object"}
    schema: dict[str, Any] = TypeAdapter(tp).json_schema(ref_template=REF, mode="serialization")
    defs.update(schema.pop("$defs", {}))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        defs[tp.__name__] = schema
        return {"$ref": REF.format(model=tp.__name__)}
    return schema


def _operation(r: Route, defs: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": r.summary, "operationId": r.handler.__module__.rsplit("_", 1)[-1] + "_"
                          + r.handler.__name__, "tags": [r.tag]}
    if r.handler.__doc__:
        op["description"] = " ".join(r.handler.__doc__.split())
    if r.params:
        op["parameters"] = [{"name": p.name, "in": p.where, "required": p.where == "path",
                             "schema": {"type": p.type}, **({"description": p.description} if p.description
                                                            else {})} for p in r.params]
    if r.body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": _schema(r.body, defs)}}}
    responses: dict[str, Any] = {}
    if r.stream is not None:
        responses[str(r.status)] = {"description": "a stream of JSON lines", "content": {
            "application/x-ndjson": {"schema": _schema(r.stream, defs)}}}
    elif r.result is str:
        plain = {"text/plain": {"schema": {"type": "string"}}}
        responses[str(r.status)] = {"description": "OK", "content": plain}
    elif r.result is None:
        responses[str(r.status)] = {"description": "done"}
    else:
        responses[str(r.status)] = {"description": "OK", "content": {
            "application/json": {"schema": _schema(r.result, defs)}}}
    error = {"$ref": REF.format(model="Error")}
    for code, text in ERRORS.items():
        responses[code] = {"description": text, "content": {"application/json": {"schema": error}}}
    op["responses"] = responses
    return op


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered route."""

    from stackfile.daemon import handlers_containers, handlers_images, handlers_projects, handlers_system

    del handlers_containers, handlers_images, handlers_projects, handlers_system
    defs: dict[str, Any] = {}
    _schema(Error, defs)
    paths: dict[str, dict[str, Any]] = {}
    for r in sorted(ROUTES, key=lambda r: (r.path, r.method)):
        paths.setdefault(API + r.path, {})[r.method.lower()] = _operation(r, defs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "stackfile engine API", "version": __version__,
                 "description": "The engine of stackfile over REST: containers, images, projects."},
        "paths": paths,
        "components": {"schemas": dict(sorted(defs.items()))},
    }


