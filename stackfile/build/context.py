"""The build context: COPY sources resolved safely inside it, walked through the ignore rules,
and hashed (through the stat cache) into the input digest of a COPY step's cache key."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from stackfile.build.statcache import StatCache
from stackfile.errors import InvalidSpec, Location, NotFound
from stackfile.spec.ignore import IgnoreRules

__all__ = ["BuildContext", "Entry"]


class Entry(NamedTuple):
    """One file system entry to copy: host path, path relative to the source root, its lstat."""

    path: str
    rel: str
    st: os.stat_result


class BuildContext:
    """A context directory with its ignore rules and stat cache."""

    def __init__(self, root: Path, rules: IgnoreRules, cache: StatCache) -> None:
        self.root = root.resolve()
        self.rules = rules
        self.cache = cache

    def resolve_sources(self, pattern: str, where: Location | None = None) -> list[Path]:
        """The context paths a COPY source (with wildcards) names; refuses escapes from the context."""
        rel = os.path.normpath(pattern.lstrip("/")) if pattern not in ("", ".", "/") else "."
        if rel == ".." or rel.startswith("../"):
            raise InvalidSpec(f"COPY source {pattern!r} is outside the build context {self.root}",
                              location=where, hint="copy only files below the context directory")
        if any(ch in rel for ch in "*?["):
            matches = sorted(p for p in self.root.glob(rel) if not self._ignored_path(p))
            if not matches:
                raise NotFound(f"COPY source {pattern!r} matches no file in the build context",
                               location=where)
            return [self._inside(p, pattern, where) for p in matches]
        path = self.root / rel
        if not os.path.lexists(path) or (rel != "." and self._ignored_path(path)):
            raise NotFound(f"COPY source {pattern!r} is not in the build context {self.root}",
                           location=where, hint="check the path and the .dockerignore/.stackignore file")
        return [self._inside(path, pattern, where)]

    def _ignored_path(self, path: Path) -> bool:
        rel = os.path.relpath(path, self.root)
        return bool(self.rules) and self.rules.ignored(rel, path.is_dir())

    def _inside(self, path: Path, pattern: str, where: Location | None) -> Path:
        real = path.resolve()
        if real != self.root and self.root not in real.parents:
            raise InvalidSpec(f"COPY source {pattern!r} resolves to {real}, outside the build context",
                              location=where, hint="symlinks in the context must stay inside it")
        return real if path.is_symlink() else path

    def walk(self, source: Path) -> Iterator[Entry]:
        """Entries below ``source`` (itself first), sorted, skipping ignored ones. Symlinks are entries."""
        st = os.lstat(source)
        yield Entry(str(source), ".", st)
        if not stat.S_ISDIR(st.st_mode):
            return
        yield from self._walk_dir(str(source), "")

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

    def digest(self, sources: list[Path], exclude: tuple[str, ...] = ()) -> str:
        """Content digest of the sources: names, types, modes, file contents, link targets."""
        h = hashlib.sha256()
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
