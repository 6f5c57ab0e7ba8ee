"""A real registry for tests: Debian's ``docker-registry`` (distribution 2.8) on 127.0.0.1 with TLS
from a test CA (trusted the Docker way, in ``/etc/docker/certs.d/HOST:PORT/ca.crt``), htpasswd
auth or distribution's token mode with a small token server; stopped and cleaned up afterwards."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

USER, PASSWORD = "alice", "s3cret-pw"
DOCKER_CERTS_D = Path("/etc/docker/certs.d")
TOOLS = ("docker-registry", "openssl", "htpasswd")


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(directory: Path) -> None:
    """ca.crt/ca.key, and server.crt/server.key for 127.0.0.1 and localhost signed by it."""
    d = str(directory)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{d}/ca.key",
        "-out",
        f"{d}/ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=stackfile test CA",
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{d}/server.key",
        "-out",
        f"{d}/server.csr",
        "-subj",
        "/CN=localhost",
    )
    (directory / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{d}/server.csr",
        "-CA",
        f"{d}/ca.crt",
        "-CAkey",
        f"{d}/ca.key",
        "-CAcreateserial",
        "-out",
        f"{d}/server.crt",
        "-days",
        "2",
        "-extfile",
        f"{d}/ext.cnf",
    )


@dataclass
class Registry:
    """One registry process; ``restart`` starts it again on the same port with the same storage."""

    work: Path
    port: int
    auth: str  # "htpasswd", "token" or "none"
    token_realm: str = ""
    proc: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data(self) -> Path:
        return self.work / "data"

    def config(self) -> str:
        auth = ""
        if self.auth == "htpasswd":
            auth = f"auth:\n  htpasswd:\n    realm: stackfile-test\n    path: {self.work}/htpasswd\n"
        elif self.auth == "token":
            auth = (
                f"auth:\n  token:\n    realm: {self.token_realm}\n    service: test-registry\n"
                f"    issuer: stackfile-test-issuer\n    rootcertbundle: {self.work}/token.crt\n"
            )
        return (
            f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.data}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n  secret: stackfile-test-secret\n"
            f"  tls:\n    certificate: {self.work}/server.crt\n    key: {self.work}/server.key\n{auth}"
        )

    def start(self) -> None:
        (self.work / "config.yml").write_text(self.config())
        log = open(self.work / "registry.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            ["docker-registry", "serve", str(self.work / "config.yml")],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"registry did not start: {(self.work / 'registry.log').read_text()[-2000:]}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()


@contextlib.contextmanager
def running_registry(work: Path, auth: str = "htpasswd", token_realm: str = "") -> Iterator[Registry]:
    """A registry on a free port, its CA in /etc/docker/certs.d/127.0.0.1:PORT (removed afterwards)."""
    work.mkdir(parents=True, exist_ok=True)
    make_ca(work)
    subprocess.run(
        ["htpasswd", "-Bbc", str(work / "htpasswd"), USER, PASSWORD], check=True, capture_output=True
    )
    reg = Registry(work, free_port(), auth, token_realm)
    certs = DOCKER_CERTS_D / reg.host
    certs.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "ca.crt", certs / "ca.crt")
    try:
        reg.start()
        yield reg
    finally:
        reg.kill()
        shutil.rmtree(certs, ignore_errors=True)


def make_token_key(work: Path) -> None:
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{work}/token.key",
        "-out",
        f"{work}/token.crt",
        "-days",
        "2",
        "-subj",
        "/CN=stackfile test token issuer",
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Docker Hub's auth service in miniature: ``GET /token?service=&scope=`` with Basic auth (or a
    ``POST`` with a refresh token) answers a JWT signed with the key whose certificate the registry
    trusts (x5c header), granting the scopes asked for to ``alice``; anything else is 401."""

    def __init__(self, work: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        self.key = serialization.load_pem_private_key((work / "token.key").read_bytes(), None)
        cert = x509.load_pem_x509_certificate((work / "token.crt").read_bytes())
        self.x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                auth = self.headers.get("Authorization", "")
                ok = auth == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                server.requests.append({"method": "GET", "query": query, "authorized": ok})
                self._answer(ok, query)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                ok = form.get("refresh_token") == ["refresh-" + USER]
                server.requests.append({"method": "POST", "query": form, "authorized": ok})
                self._answer(ok, form)

            def _answer(self, ok: bool, query: dict[str, list[str]]) -> None:
                if not ok:
                    body = b'{"details":"incorrect username or password"}'
                    self.send_response(401)
                else:
                    token = server.token(query.get("service", [""])[0], query.get("scope", []))
                    body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/token"

    def token(self, service: str, scopes: list[str]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "x5c": [self.x5c]}
        claims = {
            "iss": "stackfile-test-issuer",
            "sub": USER,
            "aud": service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg]
        return f"{signing}.{_b64(signature)}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def raw_request(
    registry: Registry, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request with the standard library alone (not stackfile's client): test fixtures use it
    to put content in the registry that stackfile cannot make (indexes, zstd layers)."""
    import http.client
    import ssl

    ctx = ssl.create_default_context(cafile=str(registry.work / "ca.crt"))
    conn = http.client.HTTPSConnection("127.0.0.1", registry.port, context=ctx, timeout=30)
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    try:
        conn.request(method, path, body=body, headers={"Authorization": f"Basic {auth}", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, dict(resp.headers), resp.read()
    finally:
        conn.close()


def put_blob(registry: Registry, repo: str, data: bytes) -> str:
    digest = sha256(data)
    status, headers, _ = raw_request(registry, "POST", f"/v2/{repo}/blobs/uploads/")
    assert status == 202, status
    location = urlsplit(headers["Location"])
    status, _, body = raw_request(
        registry,
        "PUT",
        f"{location.path}?{location.query}&digest={digest}",
        data,
        {"Content-Type": "application/octet-stream"},
    )
    assert status == 201, body
    return digest


def put_manifest(registry: Registry, repo: str, ref: str, doc: dict[str, Any], media_type: str) -> str:
    data = json.dumps(doc).encode()
    status, _, body = raw_request(
        registry, "PUT", f"/v2/{repo}/manifests/{ref}", data, {"Content-Type": media_type}
    )
    assert status == 201, body
    return sha256(data)
