"""Registry references: Docker's normalisation, and where on the network a repository lives."""

from __future__ import annotations

from dataclasses import dataclass

from stackfile.errors import InvalidSpec
from stackfile.store.refs import DOCKER_HUB, familiar_repo, normalize_name, split_reference

__all__ = ["Reference", "parse_reference"]

HUB_API_HOST = "registry-1.docker.io"
HUB_AUTH_KEY = "https://index.docker.io/v1/"


@dataclass(frozen=True)
class Reference:
    """``domain/path[:tag][@digest]`` after normalisation (``docker.io``, ``library/`` filled in)."""

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def host(self) -> str:
        """The host[:port] the API is served from (Docker Hub's differs from its name)."""
        return HUB_API_HOST if self.domain == DOCKER_HUB else self.domain

    @property
    def auth_key(self) -> str:
        """The key of this registry in ``config.json``'s ``auths`` (Docker Hub's is a URL)."""
        return HUB_AUTH_KEY if self.domain == DOCKER_HUB else self.domain

    @property
    def repo(self) -> str:
        """The familiar repository name: ``busybox``, ``localhost:5000/team/app``."""
        return familiar_repo(self.domain, self.path)

    @property
    def name(self) -> str:
        """The store's name for the image: familiar ``repo:tag`` (``latest`` if only a digest)."""
        return f"{self.repo}:{self.tag or 'latest'}"

    @property
    def target(self) -> str:
        """What to ask the registry's manifest endpoint for: the digest, else the tag."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.domain, self.path, self.tag, digest)

    def __str__(self) -> str:
        text = self.repo
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """Parse and normalise ``text``; raises InvalidSpec naming what is malformed."""
    parts = split_reference(text)
    if isinstance(parts, str):
        normalize_name(text)  # raises the store's message for the malformed part
        raise InvalidSpec(f"invalid image reference {text!r}")
    return Reference(*parts)
