"""``login``/``logout``: check a credential against the registry, then keep it as Docker does."""

from __future__ import annotations

from stackfile.errors import InvalidSpec
from stackfile.registry import credentials
from stackfile.registry.options import RegistryOptions
from stackfile.registry.reference import HUB_API_HOST, HUB_AUTH_KEY
from stackfile.registry.session import Session

__all__ = ["login", "logout", "registry_key"]


def registry_key(server: str | None) -> tuple[str, str]:
    """(API host, ``auths`` key) of a ``login`` argument: none or a Docker Hub name is Docker Hub."""
    text = (server or "").strip().rstrip("/")
    bare = text.split("://", 1)[-1].split("/", 1)[0]
    if not bare or bare in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        return HUB_API_HOST, HUB_AUTH_KEY
    return bare, bare


def login(server: str | None, username: str, password: str, options: RegistryOptions) -> str:
    """Check ``username``/``password`` with the registry (its Basic or Bearer challenge), then store
    them in Docker's config.json (or its credential helper); returns where they were stored."""
    if not username or not password:
        raise InvalidSpec(
            "login needs a user name and a password", hint="-u USER and --password-stdin (or -p PASSWORD)"
        )
    host, key = registry_key(server)
    cred = credentials.Credential(username, password, source="the user name and password given to login")
    session = Session(host, options, credential=cred)
    try:
        session.ping()
        session.request("GET", "/v2/", what="login", ok=(200,)).body()
    finally:
        session.close()
    if not options.config_file:
        raise InvalidSpec("nowhere to store credentials: neither DOCKER_CONFIG nor HOME is set")
    return credentials.store(options.config_file, key, cred)


def logout(server: str | None, options: RegistryOptions) -> tuple[str, bool]:
    """Forget the credential of ``server``; (registry key, whether there was one)."""
    _host, key = registry_key(server)
    if not options.config_file:
        return key, False
    return key, credentials.erase(options.config_file, key)
