"""Registry options: where credentials and certificates are, which hosts may speak plain HTTP.

The CLI reads them from the environment (``DOCKER_CONFIG``, ``HOME``,
``STACKFILE_INSECURE_REGISTRIES``, ``STACKFILE_CERTS_D``) with :func:`from_environ` and installs
them with :func:`configure`; library code asks :func:`current` and never reads ``os.environ``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["RegistryOptions", "configure", "current", "from_environ"]

DOCKER_CERTS_D = "/etc/docker/certs.d"
CONTAINERS_CERTS_D = "/etc/containers/certs.d"
STACKFILE_CERTS_D = "/etc/stackfile/certs.d"


@dataclass(frozen=True)
class RegistryOptions:
    """``config_dir``: Docker's config directory (``config.json``); ``certs_dirs``: directories with
    one ``HOST:PORT/`` sub-directory per registry (``ca.crt``, ``client.cert``, ``client.key``),
    searched in order; ``insecure``: hosts that may be reached over plain HTTP (loopback may always);
    ``chunk_size``: push blobs in PATCH chunks of this many bytes (0: one PUT)."""

    config_dir: str | None = None
    certs_dirs: tuple[str, ...] = (DOCKER_CERTS_D, CONTAINERS_CERTS_D, STACKFILE_CERTS_D)
    insecure: frozenset[str] = field(default_factory=frozenset)
    chunk_size: int = 0
    parallel: int = 4

    @property
    def config_file(self) -> str | None:
        return f"{self.config_dir}/config.json" if self.config_dir else None


def from_environ(environ: Mapping[str, str]) -> RegistryOptions:
    """The options a user's environment gives (Docker's variables where Docker has one)."""
    config_dir = environ.get("DOCKER_CONFIG") or (
        f"{environ['HOME']}/.docker" if environ.get("HOME") else None
    )
    extra = tuple(p for p in environ.get("STACKFILE_CERTS_D", "").split(":") if p)
    insecure = frozenset(
        h.strip() for h in environ.get("STACKFILE_INSECURE_REGISTRIES", "").split(",") if h.strip()
    )
    try:
        chunk = int(environ.get("STACKFILE_PUSH_CHUNK_SIZE", "0") or 0)
    except ValueError:
        chunk = 0
    return RegistryOptions(
        config_dir=config_dir,
        certs_dirs=(*extra, DOCKER_CERTS_D, CONTAINERS_CERTS_D, STACKFILE_CERTS_D),
        insecure=insecure,
        chunk_size=max(chunk, 0),
    )


_current = RegistryOptions()


def configure(options: RegistryOptions) -> None:
    """Install the options every later registry operation of this process uses."""
    global _current
    _current = options


def current() -> RegistryOptions:
    return _current
