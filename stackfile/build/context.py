"""The build context: COPY sources resolved safely inside it, walked through the ignore rules,
and hashed (through the stat cache) into the input digest of a COPY step's cache key.

Shared by the builder and the no-op fast path (``fastpath``), so it imports nothing heavy:
paths are strings (``pathlib`` only for wildcard sources), errors are imported when raised.
"""

from __future__ import annotations

import os
import stat
from collections import namedtuple
from collections.abc import Iterator

from stackfile.build.statcache import StatCache, sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from stackfile.errors import Location
    from stackfile.spec.ignore import IgnoreRules

__all__ = ["BuildContext", "Entry", "dockerfile_patterns", "ignore_rules"]


Entry = namedtuple("Entry", ["path", "rel", "st"])
Entry.__doc__ = "One file system entry to copy: host path, path relative to the source root, its lstat."


def dockerfile_patterns(root: str, dockerfile: str) -> tuple[str, ...]:
    """The ignore patterns of a Dockerfile build: ``<Dockerfile>.dockerignore``, else the context's file."""
    from stackfile.spec.ignore import IgnoreRules

    return IgnoreRules.for_context(root, dockerfile).patterns


def ignore_rules(root: str, patterns: tuple[str, ...]) -> IgnoreRules:
    """The rules a build applies: the recipe's patterns, else the context's ignore file."""
    from stackfile.spec.ignore import IgnoreRules

    return IgnoreRules(patterns) if patterns else IgnoreRules.for_context(root)


class BuildContext:
    """A context directory with its ignore rules and stat cache. Source paths are strings."""

    def __init__(self, root: str | os.PathLike[str], rules: IgnoreRules, cache: StatCache) -> None:
        self.root = os.path.realpath(root)
        self.rules = rules
        self.cache = cache

    def resolve_sources(self, pattern: str, where: Location | None = None) -> list[str]:
        """The context paths a COPY source (with wildcards) names; refuses escapes from the context."""
        rel = os.path.normpath(pattern.lstrip("/")) if pattern not in ("", ".", "/") else "."
        if rel == ".." or rel.startswith("../"):
            from stackfile.errors import InvalidSpec

            raise InvalidSpec(f"COPY source {pattern!r} is outside the build context {self.root}",
                              location=where, hint="copy only files below the context directory")
        if any(ch in rel for ch in "*?["):
            from pathlib import Path

            # sorted as paths (by component), as the builder always has: the order feeds the key
            matches = [str(p) for p in sorted(Path(self.root).glob(rel)) if not self._ignored_path(str(p))]
            if not matches:
                from stackfile.errors import NotFound

                raise NotFound(f"COPY source {pattern!r} matches no file in the build context",
                               location=where)
            return [self._inside(p, pattern, where) for p in matches]
        path = os.path.join(self.root, rel) if rel != "." else self.root
        if not os.path.lexists(path) or (rel != "." and self._ignored_path(path)):
            from stackfile.errors import NotFound

            raise NotFound(f"COPY source {pattern!r} is not in the build context {self.root}",
                           location=where, hint="check the path and the .dockerignore/.stackignore file")
        return [self._inside(path, pattern, where)]

    def _ignored_path(self, path: str) -> bool:
        rel = os.path.relpath(path, self.root)
        return bool(self.rules) and self.rules.ignored(rel, os.path.isdir(path))

    def _inside(self, path: str, pattern: str, where: Location | None) -> str:
        real = os.path.realpath(path)
        if real != self.root and not real.startswith(self.root.rstrip("/") + "/"):
            from stackfile.errors import InvalidSpec

            raise InvalidSpec(f"COPY source {pattern!r} resolves to {real}, outside the build context",
                              location=where, hint="symlinks in the context must stay inside it")
        return real if os.path.islink(path) else path

    def walk(self, source: str) -> Iterator[Entry]:
        """Entries below ``source`` (itself first), sorted, skipping ignored ones. Symlinks are entries."""
        st = os.lstat(source)
        yield Entry(source, ".", st)
        if not stat.S_ISDIR(st.st_mode):
            return
        yield from self._walk_dir(source, "")

    def _walk_dir(self, top: str, prefix: str) -> Iterator[Entry]:
        with os.scandir(top) as it:
            items = sorted(it, key=lambda e: e.name)
        for item in items:
            rel = prefix + item.name
            ctx_rel = os.path.relpath(item.path, self.root)
            is_dir = item.is_dir(follow_symlinks=False)
            if self.rules and self.rules.ignored(ctx_rel, is_dir):
                if not is_dir or self.rules.can_skip_dir(ctx_rel):
                    continue
            else:
                yield Entry(item.path, rel, item.stat(follow_symlinks=False))
            if is_dir:
                yield from self._walk_dir(item.path, rel + "/")

    def digest(self, sources: list[str], exclude: tuple[str, ...] = ()) -> str:
        """Content digest of the sources: names, types, modes, file contents, link targets."""
        h = sha256()
        for src in sources:
            h.update(os.path.relpath(src, self.root).encode() + b"\0")
            for e in self.walk(src):
                if exclude and _excluded(e.rel, exclude):
                    continue
                mode = e.st.st_mode
                h.update(f"{e.rel}\0{mode:o}\0".encode())
                if stat.S_ISREG(mode):
                    h.update(self.cache.digest(e.path, e.st).encode())
                elif stat.S_ISLNK(mode):
                    h.update(os.readlink(e.path).encode())
                h.update(b"\n")
        return "sha256:" + h.hexdigest()


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    import fnmatch

    return any(fnmatch.fnmatch(rel, x) for x in patterns)
