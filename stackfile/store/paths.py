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

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import
if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["DEFAULT_ROOT", "StorePaths"]

DEFAULT_ROOT = "/var/lib/stackfile"


def _pathlib_form(path: str) -> str:
    """``str(Path(path))`` without importing pathlib: "." and empty components dropped, "//" kept
    as a root of its own (POSIX), no trailing slash; ".." is kept, as pathlib keeps it."""
    root = "//" if path[:2] == "//" and path[2:3] != "/" else "/" if path[:1] == "/" else ""
    rest = "/".join(part for part in path.split("/") if part and part != ".")
    return root + rest if root or rest else "."


class StorePaths:
    """Paths inside one store root. Creating the object touches nothing; :meth:`ensure` makes dirs.

    The directories are :class:`~pathlib.Path` objects, made on use: ``container run`` never
    imports :mod:`pathlib` (~3.5 ms with what it imports), it reads the ``*_str`` forms
    (:attr:`root_str`, :meth:`container_str`, ...), which are ``str()`` of the same paths.
    Immutable, equal and hashed by root (as the NamedTuple it was)."""

    __slots__ = ("_path", "root_str")
    root_str: str  # str(self.root)
    _path: Path | None  # self.root, made on first use

    def __init__(self, root: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "root_str", _pathlib_form(os.fspath(root)))
        object.__setattr__(self, "_path", None)

    @classmethod
    def at(cls, root: str | os.PathLike[str] | None) -> StorePaths:
        """The store at ``root`` (default :data:`DEFAULT_ROOT`), made absolute as ``Path.absolute``
        does (against the working directory, ".." kept)."""
        text = os.fspath(root or DEFAULT_ROOT)
        return cls(text if text[:1] == "/" else f"{os.getcwd()}/{text}")

    @property
    def root(self) -> Path:
        path = self._path
        if path is None:
            from pathlib import Path

            path = Path(self.root_str)
            object.__setattr__(self, "_path", path)
        return path

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("StorePaths is immutable")

    def __eq__(self, other: object) -> bool:
        return self.root_str == other.root_str if type(other) is StorePaths else NotImplemented

    def __hash__(self) -> int:
        return hash(self.root_str)

    def __repr__(self) -> str:
        return f"StorePaths(root={self.root!r})"

    def __reduce__(self) -> tuple[type[StorePaths], tuple[str]]:
        return (StorePaths, (self.root_str,))

    # str forms for the ``container run`` path (no pathlib); each is str() of the Path form below
    @property
    def db_str(self) -> str:
        return os.path.join(self.root_str, "stackfile.db")

    @property
    def image_names_marker_str(self) -> str:
        return os.path.join(self.root_str, "image-names.changed")

    @property
    def containers_str(self) -> str:
        return os.path.join(self.root_str, "containers")

    @property
    def short_links_str(self) -> str:
        return os.path.join(self.root_str, "l")

    def layer_str(self, layer_id: str) -> str:
        return os.path.join(self.root_str, "layers", layer_id)

    def container_str(self, container_id: str) -> str:
        return os.path.join(self.root_str, "containers", container_id)

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
