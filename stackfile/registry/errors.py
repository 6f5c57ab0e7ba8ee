"""Registry errors: one function turns an HTTP answer into the stackfile error a user can act on."""

from __future__ import annotations

import json

from stackfile.errors import Conflict, NotFound, PermissionDenied, StackfileError, Unavailable

__all__ = ["http_error", "unauthorized"]


def _detail(body: bytes) -> str:
    try:
        doc = json.loads(body)
        errors = doc.get("errors") or []
        return "; ".join(
            f"{e.get('code', '').lower()}: {e.get('message', '')}".strip(": ")
            for e in errors
            if isinstance(e, dict)
        )
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace").strip()


def unauthorized(host: str, source: str, anonymous: bool, detail: str = "") -> PermissionDenied:
    if anonymous:
        return PermissionDenied(
            f"unauthorized: registry {host} needs credentials ({source})",
            detail=detail or None,
            hint=f"log in first: stackfile login {host}",
        )
    return PermissionDenied(
        f"unauthorized: registry {host} rejected the credentials from {source}",
        detail=detail or None,
        hint=f"check the user name and password: stackfile login {host}",
    )


def http_error(status: int, body: bytes, host: str, what: str) -> StackfileError:
    """The error for a non-success ``status`` while doing ``what`` (``pull busybox:1``...)."""
    detail = _detail(body)
    message = f"registry {host}: {what}: HTTP {status}" + (f" ({detail})" if detail else "")
    if status == 404:
        return NotFound(message, hint="check the repository name and tag")
    if status in (401, 403):
        return PermissionDenied(message, hint=f"check the account's access: stackfile login {host}")
    if status == 409:
        return Conflict(message)
    return Unavailable(message)
