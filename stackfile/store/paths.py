"""The layout of a store root. Every package finds its directories here, never by string-joining.

```
<root>/
  stackfile.db          SQLite metadata (WAL), one schema per component (store/db.py)
  lock                  flock for operations that must not interleave between processes
  ingest/               blobs being written (fsync → verify → rename into blobs/)
  blobs/sha256/<hex>    content-addressed blobs (read-only)
  layers/<id>/          immutable layer directories, used directly as overlay lower dirs
  l/<short>             short symlinks to layers (keep overlay options small)
  tmp/                  scratch on the store's filesystem (same-fs renames)
  containers/<id>/      runtime state of one container (config, upper, work, logs)
  volumes/<name>/_data  named volumes
  netns/<name>          bind-mounted network namespaces
  networks/             per-network runtime state (DNS, firewall bookkeeping)
  cache/                build cache mounts (RUN --mount=type=cache) and the context stat cache
  projects/<name>/      per-project state (watchers, last plan)
```
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

__all__ = ["DEFAULT_ROOT", "StorePaths"]

DEFAULT_ROOT = "/var/lib/stackfile"


class StorePaths(NamedTuple):
    """Paths inside one store root. Creating the object touches nothing; :meth:`ensure` makes dirs.

    A NamedTuple rather than a frozen dataclass: ``container run`` should not import ``dataclasses``."""

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike[str] | None) -> StorePaths:
        return cls(Path(root or DEFAULT_ROOT).absolute())

    @property
    def db(self) -> Path:
        return self.root / "stackfile.db"

    @property
    def lock(self) -> Path:
        return self.root / "lock"

    @property
    def image_names_marker(self) -> Path:
        """Touched whenever an image name moves, so caches keyed on names (up's fast path) see it."""
        return self.root / "image-names.changed"

    @property
    def ingest(self) -> Path:
        return self.root / "ingest"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs" / "sha256"

    @property
    def layers(self) -> Path:
        return self.root / "layers"

    @property
    def short_links(self) -> Path:
        return self.root / "l"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def containers(self) -> Path:
        return self.root / "containers"

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def netns(self) -> Path:
        return self.root / "netns"

    @property
    def networks(self) -> Path:
        return self.root / "networks"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def projects(self) -> Path:
        return self.root / "projects"

    def blob(self, digest: str) -> Path:
        return self.blobs / digest.split(":", 1)[-1]

    def layer(self, layer_id: str) -> Path:
        return self.layers / layer_id

    def container(self, container_id: str) -> Path:
        return self.containers / container_id

    def volume(self, name: str) -> Path:
        return self.volumes / name

    def project(self, name: str) -> Path:
        return self.projects / name

    def ensure(self) -> StorePaths:
        """Create the directory skeleton (idempotent, 0700 root so other users see nothing)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o711)
        for d in (self.ingest, self.blobs, self.layers, self.short_links, self.tmp, self.containers,
                  self.volumes, self.netns, self.networks, self.cache, self.projects):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self
