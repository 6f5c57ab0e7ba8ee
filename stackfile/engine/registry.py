"""Registry use cases: pull, push, login, logout (the OCI distribution client is ``stackfile.registry``)."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: every click command calls configure()
if TYPE_CHECKING:
    from collections.abc import Mapping

    from stackfile.events import EventSink
    from stackfile.store.images import ImageRecord
    from stackfile.store.paths import StorePaths

__all__ = ["configure", "login", "logout", "pull_image", "push_image"]


def configure(environ: Mapping[str, str]) -> None:
    """Use the registry settings of ``environ`` (DOCKER_CONFIG, HOME, STACKFILE_INSECURE_REGISTRIES,
    STACKFILE_CERTS_D, STACKFILE_PUSH_CHUNK_SIZE) for this process's pulls and pushes."""
    from stackfile.registry.options import configure as install
    from stackfile.registry.options import from_environ

    install(from_environ(environ))


def pull_image(
    paths: StorePaths, ref: str, *, platform: str | None = None, sink: EventSink | None = None
) -> ImageRecord:
    """``image pull``: the image from its registry into the store."""
    from stackfile.registry.pull import pull

    paths.ensure()
    return pull(paths, ref, platform=platform, sink=sink or _discard)


def push_image(paths: StorePaths, ref: str, *, sink: EventSink | None = None) -> str:
    """``image push``: the local image named ``ref`` to the registry its name gives; the manifest digest."""
    from stackfile.registry.push import push

    return push(paths, ref, sink=sink or _discard)


def login(server: str | None, username: str, password: str) -> str:
    from stackfile.registry.login import login as do_login
    from stackfile.registry.options import current

    return do_login(server, username, password, current())


def logout(server: str | None) -> tuple[str, bool]:
    from stackfile.registry.login import logout as do_logout
    from stackfile.registry.options import current

    return do_logout(server, current())


def _discard(event: object) -> None:
    """The sink that ignores everything."""
