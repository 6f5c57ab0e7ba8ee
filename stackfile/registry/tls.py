"""TLS per registry: the system CAs plus each registry's ``certs.d/HOST:PORT/`` directory.

As Docker and Podman read them: every ``*.crt`` is a CA to trust, every ``*.cert`` is a client
certificate whose key is the ``*.key`` of the same name. Directories are searched in the order
the options list them (Docker's, containers', stackfile's own); all that exist are used.
"""

from __future__ import annotations

import os
import ssl
import threading

from stackfile.errors import InvalidSpec

__all__ = ["context_for"]

_cache: dict[tuple[str, tuple[str, ...], bool], ssl.SSLContext] = {}
_lock = threading.Lock()


def _material(host: str, certs_dirs: tuple[str, ...]) -> tuple[list[str], list[tuple[str, str]]]:
    cas: list[str] = []
    pairs: list[tuple[str, str]] = []
    for base in certs_dirs:
        directory = os.path.join(base, host)
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            if name.endswith(".crt"):
                cas.append(path)
            elif name.endswith(".cert"):
                key = path[: -len(".cert")] + ".key"
                if not os.path.exists(key):
                    raise InvalidSpec(
                        f"client certificate {path} has no key {key}",
                        hint="put the key next to it with the same name and .key",
                    )
                pairs.append((path, key))
    return cas, pairs


def context_for(host: str, certs_dirs: tuple[str, ...], *, verify: bool = True) -> ssl.SSLContext:
    """The SSL context for ``host`` (``name[:port]``); cached per process."""
    key = (host, certs_dirs, verify)
    with _lock:
        ctx = _cache.get(key)
        if ctx is not None:
            return ctx
        ctx = ssl.create_default_context()
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        cas, pairs = _material(host, certs_dirs)
        try:
            for ca in cas:
                ctx.load_verify_locations(cafile=ca)
            for cert, keyfile in pairs:
                ctx.load_cert_chain(cert, keyfile)
        except (ssl.SSLError, OSError) as exc:
            raise InvalidSpec(
                f"cannot load the certificates for registry {host}: {exc}",
                hint="ca.crt, client.cert and client.key must be PEM files",
            ) from None
        _cache[key] = ctx
        return ctx
