"""HTTP/1.1 to a stackfile daemon with the standard library only: ``unix://PATH`` over AF_UNIX,
``tcp://HOST:PORT`` plain or with mutual TLS (Docker's ``ca.pem``, ``cert.pem``, ``key.pem``).

Imported only when a host is given, so the in-process CLI never pays for it. The wire is written
here over a plain socket (one request per connection, ``Connection: close``; bodies by length,
chunked or to the close) rather than with ``http.client``, whose import (the ``email`` package)
costs more than a whole ``_ping`` round trip; ``ssl`` is imported only for a TLS host.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator

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
    import ssl
    from typing import Any

__all__ = ["Connection", "RemoteError", "error_from", "query_string", "quote", "remote_error"]

KINDS: dict[str, type[StackfileError]] = {
    "invalid-spec": InvalidSpec, "not-found": NotFound, "conflict": Conflict, "unavailable": Unavailable,
    "permission": PermissionDenied, "internal": Internal,
}
PREFIX = "/v1"


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(text: str) -> str:
    """``text`` percent-encoded for a path segment or a query value (urllib.parse's ``quote`` with
    nothing safe; that module costs ~2 ms to import, as much as a whole remote request)."""
    return "".join(chr(b) if b in _SAFE else f"%{b:02X}" for b in text.encode())


def query_string(query: dict[str, Any]) -> str:
    """``k=v&k=v2`` of ``query``; a list value repeats its key, None leaves the key out."""
    parts = []
    for key, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                parts.append(f"{quote(key)}={quote(str(item))}")
    return "&".join(parts)


class RemoteError(StackfileError):
    """An error the daemon answered; :func:`remote_error` makes it an instance of its kind's class
    too (a ``NotFound`` over the wire is a ``NotFound`` here), with the daemon's exit code."""

    def __init__(self, body: dict[str, Any]) -> None:
        where = body.get("location")
        super().__init__(str(body.get("message", "")), location=Location(key_path=where) if where else None,
                         hint=body.get("hint"))
        self._exit = body.get("exit_code")

    @property
    def exit_code(self) -> int:
        return self._exit if isinstance(self._exit, int) else super().exit_code


_CLASSES: dict[str, type[RemoteError]] = {}


def remote_error(body: dict[str, Any]) -> RemoteError:
    """The error of an error answer's body, of its kind's class."""
    kind = str(body.get("kind"))
    cls = _CLASSES.get(kind)
    if cls is None:
        base = KINDS.get(kind, Internal)
        cls = _CLASSES[kind] = type(f"Remote{base.__name__}", (RemoteError, base), {})
    return cls(body)


def error_from(status: int, raw: bytes) -> StackfileError:
    """The error a failed answer carries (or one describing a non-JSON answer)."""
    try:
        body = json.loads(raw)
        if isinstance(body, dict) and "message" in body:
            return remote_error(body)
    except ValueError:
        pass
    return Internal(f"the daemon answered {status}: {raw[:200].decode(errors='replace')}")


class _Response:
    """An HTTP/1.1 answer read from a socket: status, headers, then the body as it arrives
    (``Content-Length``, chunked, or up to the close)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        line = self._line()
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise OSError(f"not an HTTP answer: {line[:80]!r}")
        self.status = int(parts[1])
        self.headers: dict[str, str] = {}
        while line := self._line():
            name, _, value = line.decode("latin-1").partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise OSError("the daemon closed the connection")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise OSError("the daemon closed the connection mid-answer")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def chunks(self) -> Iterator[bytes]:
        """The body, piece by piece."""
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while size := int(self._line().split(b";")[0], 16):
                yield self._exactly(size)
                self._line()
            return
        length = self.headers.get("content-length")
        if length is not None:
            yield self._exactly(int(length))
            return
        if self.buf:
            yield self.buf
            self.buf = b""
        while self._fill():
            yield self.buf
            self.buf = b""

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def lines(self) -> Iterator[bytes]:
        """The body split at newlines (a JSON-lines stream)."""
        pending = b""
        for chunk in self.chunks():
            pending += chunk
            *done, pending = pending.split(b"\n")
            yield from done
        if pending:
            yield pending


def _tls_context(cert_path: str) -> ssl.SSLContext:
    import ssl

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
            except OSError as exc:  # ssl.SSLError is an OSError
                raise InvalidSpec(f"cannot load the client's TLS files from {cert_path!r}: {exc}",
                                  location=Location(key_path="STACKFILE_CERT_PATH"),
                                  hint="a directory with ca.pem, cert.pem and key.pem") from None

    def _connect(self) -> socket.socket:
        if self.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(self.address)
            return sock
        hostname, _, port = self.address.rpartition(":")
        hostname = hostname.strip("[]")
        sock = socket.create_connection((hostname, int(port)), timeout=self.timeout)
        if self.context is not None:
            try:
                return self.context.wrap_socket(sock, server_hostname=hostname)
            except BaseException:
                sock.close()
                raise
        return sock

    def _send(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
              ) -> tuple[socket.socket, _Response]:
        url = PREFIX + path
        if query:
            url += "?" + query_string(query)
        payload = b"" if body is None else json.dumps(body).encode()
        head = (f"{method} {url} HTTP/1.1\r\nHost: stackfile\r\nConnection: close\r\n"
                f"Content-Length: {len(payload)}\r\n")
        if body is not None:
            head += "Content-Type: application/json\r\n"
        sock = None
        try:
            sock = self._connect()
            sock.sendall(head.encode() + b"\r\n" + payload)
            response = _Response(sock)
        except OSError as exc:
            if sock is not None:
                sock.close()
            raise Unavailable(f"cannot reach the stackfile daemon at {self.host}: {exc}",
                              hint="is `stackfile daemon` running there, and are the TLS settings right "
                                   "(STACKFILE_TLS_VERIFY, STACKFILE_CERT_PATH)?") from None
        if response.status >= 400:
            try:
                raw = response.read()
            except OSError:
                raw = b""
            finally:
                sock.close()
            raise error_from(response.status, raw)
        return sock, response

    def call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """The decoded JSON answer (None for an empty one, text for a text one)."""
        sock, response = self._send(method, path, body, query)
        try:
            raw = response.read()
        except OSError as exc:
            raise Unavailable(f"the daemon at {self.host} broke off its answer: {exc}") from None
        finally:
            sock.close()
        if not raw:
            return None
        return json.loads(raw) if response.headers.get("content-type", "").startswith("application/json") \
            else raw.decode()

    def lines(self, method: str, path: str, body: Any = None,
              query: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """The JSON lines of a streamed answer; an ``{"kind": "error"}`` line raises its error."""
        sock, response = self._send(method, path, body, query)
        try:
            for raw in response.lines():
                if not raw.strip():
                    continue
                item = json.loads(raw)
                if item.get("kind") == "error" and isinstance(item.get("error"), dict):
                    raise remote_error(item["error"])
                yield item
        except OSError as exc:
            raise Unavailable(f"the daemon at {self.host} broke off its answer: {exc}") from None
        finally:
            sock.close()
