"""Where the daemon listens: ``-H`` addresses parsed, checked and turned into bound sockets.

``unix://PATH`` makes a socket file 0660 owned by root and the ``--group`` group (never
world-accessible); ``tcp://ADDR:PORT`` requires mutual TLS unless ADDR is a loopback address, where
plain HTTP is allowed with a warning. A listener that would be open to the network without
``--tlsverify`` is refused before anything is bound.
"""

from __future__ import annotations

import grp
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass

from stackfile.errors import InvalidSpec, Location, PermissionDenied, Unavailable

__all__ = ["DEFAULT_SOCKET", "Endpoint", "TlsFiles", "bind", "parse_host", "server_tls"]

DEFAULT_SOCKET = "/run/stackfile/stackfile.sock"


@dataclass(frozen=True)
class TlsFiles:
    """``--tlscacert``, ``--tlscert``, ``--tlskey`` (PEM files)."""

    ca: str
    cert: str
    key: str


@dataclass(frozen=True)
class Endpoint:
    """One ``-H`` address: ``kind`` is ``unix`` (``path``) or ``tcp`` (``host``, ``port``)."""

    kind: str
    path: str = ""
    host: str = ""
    port: int = 0

    @property
    def loopback(self) -> bool:
        """True for a unix socket or a TCP address only this machine can reach."""
        if self.kind == "unix":
            return True
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"unix://{self.path}" if self.kind == "unix" else f"tcp://{_join(self.host, self.port)}"


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_host(text: str) -> Endpoint:
    """``unix:///path`` or ``tcp://ADDR:PORT`` (IPv6 as ``[::1]:PORT``)."""
    where = Location(key_path="-H")
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in ("unix", "tcp"):
        raise InvalidSpec(f"invalid host {text!r}", location=where,
                          hint="use unix:///path/to.sock or tcp://ADDR:PORT")
    if scheme == "unix":
        if not rest.startswith("/"):
            raise InvalidSpec(f"invalid host {text!r}: the socket path must be absolute", location=where,
                              hint="unix:///run/stackfile/stackfile.sock")
        return Endpoint("unix", path=rest)
    host, colon, port = rest.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidSpec(f"invalid host {text!r}: expected tcp://ADDR:PORT", location=where,
                          hint="tcp://127.0.0.1:2376 or tcp://0.0.0.0:2376 (with --tlsverify)")
    return Endpoint("tcp", host=host, port=int(port))


def check_tls(endpoints: list[Endpoint], tls: TlsFiles | None) -> list[str]:
    """Refuse a non-loopback TCP listener without mutual TLS; the warnings for plain loopback TCP."""
    warnings = []
    for ep in endpoints:
        if ep.kind != "tcp" or tls is not None:
            continue
        if not ep.loopback:
            raise PermissionDenied(
                f"refusing to listen on {ep} without TLS: anyone who can reach it could run containers "
                "as root",
                location=Location(key_path="-H"),
                hint="add --tlsverify --tlscacert ca.pem --tlscert cert.pem --tlskey key.pem, "
                     "or listen on a loopback address (tcp://127.0.0.1:PORT)")
        warnings.append(f"listening on {ep} without TLS: any local user can reach the API")
    return warnings


def server_tls(files: TlsFiles) -> ssl.SSLContext:
    """A TLS server context that requires a client certificate signed by ``files.ca``."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        ctx.load_cert_chain(files.cert, files.key)
        ctx.load_verify_locations(files.ca)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidSpec(f"cannot load the TLS files: {exc}", location=Location(key_path="--tlscert"),
                          hint="--tlscacert, --tlscert and --tlskey must be readable PEM files") from None
    return ctx


def _group_id(group: str | None) -> int:
    if not group:
        return 0
    try:
        return int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    except KeyError:
        raise InvalidSpec(f"unknown group {group!r}", location=Location(key_path="--group"),
                          hint="an existing group name or gid (getent group)") from None


def _unix(path: str, group: str | None) -> socket.socket:
    gid = _group_id(group)
    os.makedirs(os.path.dirname(path) or "/", mode=0o755, exist_ok=True)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        pass  # nobody answers: a stale socket file (or none)
    else:
        raise Unavailable(f"{path}: another daemon is listening on this socket",
                          hint="stop it first, or give another -H unix:///PATH")
    finally:
        probe.close()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # the file is never world- (or group-) accessible, not even for an instant
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    os.chown(path, 0, gid)
    os.chmod(path, 0o660)
    return sock


def _tcp(ep: Endpoint) -> socket.socket:
    family = socket.AF_INET6 if ":" in ep.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((ep.host, ep.port))
    except OSError as exc:
        sock.close()
        raise Unavailable(f"cannot listen on {ep}: {exc.strerror}",
                          location=Location(key_path="-H")) from None
    return sock


def bind(ep: Endpoint, group: str | None = None) -> socket.socket:
    """A bound, listening, non-blocking socket for ``ep``."""
    sock = _unix(ep.path, group) if ep.kind == "unix" else _tcp(ep)
    sock.listen(512)
    sock.setblocking(False)
    return sock
