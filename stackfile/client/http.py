"""HTTP/1.1 to a stackfile daemon with the standard library only: ``unix://PATH`` over AF_UNIX,
``tcp://HOST:PORT`` plain or with mutual TLS (Docker's ``ca.pem``, ``cert.pem``, ``key.pem``).

Imported only when a host is given, so the in-process CLI never pays for it.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import quote, urlencode

from stackfile.errors import (
    Conflict,
    Internal,
    InvalidSpec,
    Location,
    NotFound,
    PermissionDenied,
    StackfileError,
    Unavailable,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Connection", "RemoteError", "error_from", "quote"]

KINDS: dict[str, type[StackfileError]] = {
    "invalid-spec": InvalidSpec, "not-found": NotFound, "conflict": Conflict, "unavailable": Unavailable,
    "permission": PermissionDenied, "internal": Internal,
}
PREFIX = "/v1"


class RemoteError(StackfileError):
    """An error the daemon answered; its kind and exit code are the daemon's."""

    def __init__(self, body: dict[str, Any]) -> None:
        where = body.get("location")
        super().__init__(str(body.get("message", "")), location=Location(key_path=where) if where else None,
                         hint=body.get("hint"))
        self.category = KINDS.get(str(body.get("kind")), Internal).category
        self._exit = body.get("exit_code")

    @property
    def exit_code(self) -> int:
        return self._exit if isinstance(self._exit, int) else super().exit_code


def error_from(status: int, raw: bytes) -> StackfileError:
    """The error a failed answer carries (or one describing a non-JSON answer)."""
    try:
        body = json.loads(raw)
        if isinstance(body, dict) and "message" in body:
            return RemoteError(body)
    except ValueError:
        pass
    return Internal(f"the daemon answered {status}: {raw[:200].decode(errors='replace')}")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        sock.connect(self.path)
        self.sock = sock


def _tls_context(cert_path: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=os.path.join(cert_path, "ca.pem"))
    ctx.load_cert_chain(os.path.join(cert_path, "cert.pem"), os.path.join(cert_path, "key.pem"))
    return ctx


class Connection:
    """One daemon address; each request opens a connection (streams hold theirs until they end)."""

    def __init__(self, host: str, *, tls_verify: bool = False, cert_path: str = "",
                 timeout: float | None = None) -> None:
        scheme, sep, rest = host.partition("://")
        if not sep or scheme not in ("unix", "tcp") or not rest:
            raise InvalidSpec(f"invalid host {host!r}", location=Location(key_path="--host"),
                              hint="unix:///run/stackfile/stackfile.sock or tcp://HOST:PORT")
        self.host, self.scheme, self.address = host, scheme, rest
        self.timeout = timeout
        self.context: ssl.SSLContext | None = None
        if scheme == "tcp" and tls_verify:
            try:
                self.context = _tls_context(cert_path or os.path.expanduser("~/.stackfile"))
            except (OSError, ssl.SSLError) as exc:
                raise InvalidSpec(f"cannot load the client's TLS files from {cert_path!r}: {exc}",
                                  location=Location(key_path="STACKFILE_CERT_PATH"),
                                  hint="a directory with ca.pem, cert.pem and key.pem") from None

    def _connect(self) -> http.client.HTTPConnection:
        if self.scheme == "unix":
            return _UnixConnection(self.address, self.timeout)
        hostname, _, port = self.address.rpartition(":")
        if self.context is not None:
            return http.client.HTTPSConnection(hostname.strip("[]"), int(port), timeout=self.timeout,
                                               context=self.context)
        return http.client.HTTPConnection(hostname.strip("[]"), int(port), timeout=self.timeout)

    def _send(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
              ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        url = PREFIX + path
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        conn = self._connect()
        try:
            conn.request(method, url, body=payload, headers=headers)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise Unavailable(f"cannot reach the stackfile daemon at {self.host}: {exc}",
                              hint="is `stackfile daemon` running there, and are the TLS settings right "
                                   "(STACKFILE_TLS_VERIFY, STACKFILE_CERT_PATH)?") from None
        if response.status >= 400:
            raw = response.read()
            conn.close()
            raise error_from(response.status, raw)
        return conn, response

    def call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """The decoded JSON answer (None for an empty one)."""
        conn, response = self._send(method, path, body, query)
        try:
            raw = response.read()
        finally:
            conn.close()
        if not raw:
            return None
        return json.loads(raw) if response.getheader("Content-Type", "").startswith("application/json") \
            else raw.decode()

    def lines(self, method: str, path: str, body: Any = None,
              query: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """The JSON lines of a streamed answer; an ``{"kind": "error"}`` line raises its error."""
        conn, response = self._send(method, path, body, query)
        try:
            for raw in response:
                if not raw.strip():
                    continue
                item = json.loads(raw)
                if item.get("kind") == "error" and isinstance(item.get("error"), dict):
                    raise RemoteError(item["error"])
                yield item
        finally:
            conn.close()
