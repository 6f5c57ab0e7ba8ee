"""One registry host over HTTP(S): scheme choice, TLS, keep-alive connections per thread, and auth.

Transport is the standard library's ``http.client``: no dependency, imported only when a registry
is used, and it streams request and response bodies (``Range`` resumes, chunked uploads). Auth is
Docker's flow: ask, and on ``401`` answer the ``WWW-Authenticate`` challenge: ``Basic`` with the
credential, or ``Bearer``: fetch a token from the challenge's realm for the service and the
repository scopes (GET with Basic auth, or POST with an identity token), cached per scope set.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import re
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from stackfile.errors import Unavailable
from stackfile.registry.credentials import Credential, lookup
from stackfile.registry.errors import http_error, unauthorized
from stackfile.registry.options import RegistryOptions
from stackfile.registry.tls import context_for

__all__ = ["Response", "Session", "is_loopback"]

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')
_BLOCK = 1 << 20
_RETRY_PAUSES = (0.2, 0.5, 1.0)


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1, with or without a port."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), {m[0].lower(): m[1] or m[2] for m in _PARAM.findall(rest)}


class Response:
    """An answer whose body is read on demand (``read``) or at once (``body``)."""

    def __init__(self, raw: http.client.HTTPResponse) -> None:
        self.raw = raw
        self.status = raw.status
        self.headers = raw.headers

    def read(self, size: int = _BLOCK) -> bytes:
        return self.raw.read(size)

    def body(self) -> bytes:
        return self.raw.read()

    def header(self, name: str) -> str:
        return self.raw.getheader(name) or ""


class Session:
    """Requests to one registry ``host`` with its TLS settings and credential."""

    def __init__(
        self,
        host: str,
        options: RegistryOptions,
        *,
        credential: Credential | None = None,
        auth_key: str | None = None,
    ) -> None:
        self.host = host
        self.options = options
        self.credential = (
            credential if credential is not None else lookup(options.config_file, auth_key or host)
        )
        self.plain_allowed = is_loopback(host) or host in options.insecure
        self._verify = host not in options.insecure
        self.scheme = ""
        self._challenge: tuple[str, dict[str, str]] | None = None
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self._ping_lock = threading.Lock()
        self._pinged = False
        self._local = threading.local()

    # -- connections -------------------------------------------------------------------------------

    def _connect(self, scheme: str, host: str) -> http.client.HTTPConnection:
        if scheme == "https":
            ctx = context_for(host, self.options.certs_dirs, verify=self._verify or host != self.host)
            return http.client.HTTPSConnection(host, timeout=60, context=ctx, blocksize=_BLOCK)
        return http.client.HTTPConnection(host, timeout=60, blocksize=_BLOCK)

    def _conn(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect(self.scheme, self.host)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def close(self) -> None:
        self._drop()

    def _send(self, method: str, target: str, headers: dict[str, str], body: Any) -> http.client.HTTPResponse:
        for attempt in (0, 1):
            conn = self._conn()
            try:
                conn.request(method, target, body=body, headers=headers)
                return conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop()  # a kept-alive connection the server closed: once more on a new one
                if attempt or (body is not None and not isinstance(body, bytes)):
                    raise
        raise AssertionError("unreachable")

    # -- scheme and auth ---------------------------------------------------------------------------

    def ping(self) -> None:
        """Find the scheme (HTTPS; plain HTTP only for loopback or insecure hosts) and the auth challenge."""
        if self._pinged:
            return
        with self._ping_lock:  # the layer threads wait for the first one's answer
            if not self._pinged:
                self._ping()
                self._pinged = True

    def _ping(self) -> None:
        errors = []
        for scheme in ("https", "http") if self.plain_allowed else ("https",):
            self.scheme = scheme
            try:
                raw = self._send("GET", "/v2/", {}, None)
                raw.read()
            except ssl.SSLCertVerificationError as exc:
                self._drop()
                self.scheme = ""
                raise Unavailable(
                    f"registry {self.host}: its TLS certificate is not trusted: {exc.verify_message}",
                    hint=f"put the CA that signed it in /etc/docker/certs.d/{self.host}/ca.crt "
                    f"(or {self.options.certs_dirs[-1]}/{self.host}/ca.crt)",
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                errors.append(f"{scheme}: {exc}")
                continue
            if raw.status == 401:
                self._challenge = parse_challenge(raw.getheader("WWW-Authenticate") or "")
            elif raw.status not in (200, 404) and raw.status >= 400:
                self.scheme = ""
                raise http_error(raw.status, b"", self.host, "GET /v2/")
            return
        self.scheme = ""
        raise Unavailable(
            f"cannot reach registry {self.host}: {'; '.join(errors)}",
            hint="check that the registry runs and the name and port are right"
            + (
                ""
                if self.plain_allowed
                else "; plain HTTP is used only for loopback and STACKFILE_INSECURE_REGISTRIES"
            ),
        )

    def _auth_header(self, scopes: tuple[str, ...]) -> dict[str, str]:
        if self._challenge is None:
            return {}
        scheme, params = self._challenge
        cred = self.credential
        if scheme == "basic":
            if cred.anonymous:
                raise unauthorized(self.host, cred.source, True)
            token = base64.b64encode(f"{cred.username}:{cred.password}".encode()).decode()
            return {"Authorization": f"Basic {token}"}
        if scheme == "bearer":
            key = " ".join(sorted(scopes))
            with self._lock:
                cached = self._tokens.get(key)
            if cached is not None:
                return {"Authorization": f"Bearer {cached}"}
            token = self._fetch_token(params, scopes)
            with self._lock:
                self._tokens[key] = token
            return {"Authorization": f"Bearer {token}"}
        return {}

    def _fetch_token(self, params: Mapping[str, str], scopes: Iterable[str]) -> str:
        realm = params.get("realm", "")
        url = urllib.parse.urlsplit(realm)
        if url.scheme not in ("https", "http") or not url.netloc:
            raise Unavailable(f"registry {self.host} names an unusable token realm {realm!r}")
        if url.scheme == "http" and not (is_loopback(url.netloc) or url.netloc in self.options.insecure):
            raise Unavailable(
                f"registry {self.host}: token realm {realm} is plain HTTP",
                hint="plain HTTP is used only for loopback and STACKFILE_INSECURE_REGISTRIES",
            )
        query = [("service", params.get("service", ""))] + [("scope", s) for s in scopes]
        cred = self.credential
        headers: dict[str, str] = {}
        body = None
        method = "GET"
        if cred.identity_token:
            method = "POST"
            form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", cred.identity_token),
                ("client_id", "stackfile"),
                *query,
            ]
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            target = url.path or "/"
        else:
            if not cred.anonymous:
                basic = base64.b64encode(f"{cred.username}:{cred.password}".encode()).decode()
                headers["Authorization"] = f"Basic {basic}"
            sep = "&" if url.query else ""
            target = f"{url.path or '/'}?{url.query}{sep}{urllib.parse.urlencode(query)}"
        conn = self._connect(url.scheme, url.netloc)
        try:
            conn.request(method, target, body=body, headers=headers)
            raw = conn.getresponse()
            data = raw.read()
        except ssl.SSLCertVerificationError as exc:
            raise Unavailable(
                f"token server {url.netloc}: its TLS certificate is not trusted: {exc.verify_message}",
                hint=f"put its CA in /etc/docker/certs.d/{url.netloc}/ca.crt",
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise Unavailable(
                f"cannot reach the token server {realm} of registry {self.host}: {exc}"
            ) from None
        finally:
            conn.close()
        if raw.status in (401, 403):
            raise unauthorized(self.host, cred.source, cred.anonymous, data[:200].decode("utf-8", "replace"))
        if raw.status != 200:
            raise http_error(raw.status, data, url.netloc, "token request")
        try:
            doc = json.loads(data)
            return str(doc.get("token") or doc["access_token"])
        except (ValueError, KeyError):
            raise Unavailable(f"token server {realm} answered without a token") from None

    # -- requests ----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        target: str,
        *,
        scopes: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        what: str = "",
        ok: tuple[int, ...] = (200,),
        redirect: bool = False,
    ) -> Response:
        """Send and return the answer when its status is in ``ok`` (its body unread); any other
        status raises the error a user can act on. ``target`` is a path or an absolute URL of this
        host (upload locations); ``redirect`` follows 30x to other hosts (blob storage)."""
        self.ping()
        if target.startswith(("http://", "https://")):
            target = self._same_host(target)
        sent = dict(headers or {})
        sent.update(self._auth_header(scopes))
        try:
            raw = self._send(method, target, sent, body)
            for pause in _RETRY_PAUSES if method in ("GET", "HEAD") and body is None else ():
                if raw.status not in (500, 502, 503, 504) or raw.status in ok:
                    break
                raw.read()  # a registry that just (re)started or is overloaded: ask again, as Docker does
                time.sleep(pause)
                raw = self._send(method, target, sent, body)
            if (
                raw.status == 401
                and self._challenge is not None
                and (body is None or isinstance(body, bytes))
            ):
                raw.read()
                challenge = parse_challenge(raw.getheader("WWW-Authenticate") or "")
                if challenge[0] == "bearer" and "error" not in challenge[1]:
                    with self._lock:
                        self._tokens.pop(" ".join(sorted(scopes)), None)
                    self._challenge = challenge
                    sent.update(self._auth_header(scopes))
                    raw = self._send(method, target, sent, body)
        except ssl.SSLError as exc:
            self._drop()
            raise Unavailable(f"registry {self.host}: TLS failed during {what or method}: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise Unavailable(
                f"registry {self.host}: connection lost during {what or method}: {exc}",
                hint="run the command again: what was transferred completely is kept",
            ) from None
        if redirect and raw.status in (301, 302, 303, 307, 308):
            location = raw.getheader("Location") or ""
            raw.read()
            return self._follow(location, headers or {}, what, ok, scopes)
        if raw.status not in ok:
            data = raw.read()
            if raw.status == 401:
                raise unauthorized(
                    self.host,
                    self.credential.source,
                    self.credential.anonymous,
                    data[:300].decode("utf-8", "replace"),
                )
            raise http_error(raw.status, data, self.host, what or f"{method} {target}")
        return Response(raw)

    def _same_host(self, url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _follow(
        self,
        location: str,
        headers: Mapping[str, str],
        what: str,
        ok: tuple[int, ...],
        scopes: tuple[str, ...],
    ) -> Response:
        url = urllib.parse.urlsplit(location)
        if not url.netloc:
            return self.request("GET", location, headers=headers, what=what, ok=ok, scopes=scopes)
        conn = self._connect(url.scheme or "https", url.netloc)
        try:
            conn.request("GET", url.path + (f"?{url.query}" if url.query else ""), headers=dict(headers))
            raw = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise Unavailable(
                f"registry {self.host}: blob storage {url.netloc} failed during {what}: {exc}",
                hint="run the command again: what was transferred completely is kept",
            ) from None
        if raw.status not in ok:
            data = raw.read()
            conn.close()
            raise http_error(raw.status, data, url.netloc, what)
        return Response(raw)
