"""Which changed paths watch never acts on: editor droppings, VCS metadata, caches, ignore files.

Three layers, checked cheapest first: the default ignores (any path component matching one of
:data:`DEFAULT_IGNORES`), the build context's ``.stackignore``/``.dockerignore`` (relative to the
context) and a rule's own ``ignore:`` patterns (relative to the rule's path). Pattern files use the
``.dockerignore`` syntax through :mod:`stackfile.spec.ignore`.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Protocol

from stackfile.spec.ignore import IgnoreRules

__all__ = ["DEFAULT_IGNORES", "PathMatcher", "default_ignored", "load_context_ignore", "patterns"]

# Matched against every component of a path, so ``.git/objects/ab`` and ``src/__pycache__/m.pyc`` go.
DEFAULT_IGNORES: tuple[str, ...] = (
    ".git", ".hg", ".svn",
    "*.swp", "*.swx", "*.swo", "*~", ".#*", "#*#", "4913",  # vim, emacs (4913 is vim's write test)
    "*___jb_tmp___", "*___jb_old___",  # JetBrains safe write
    "__pycache__", "*.pyc", "*.pyo", ".DS_Store",
    ".*.stackfile-sync-*",  # our own temp files, should a synced dir also be bind-mounted
)

_DEFAULT_RE = re.compile("|".join(fnmatch.translate(p) for p in DEFAULT_IGNORES))


class PathMatcher(Protocol):
    """Answers whether a path relative to some base directory is excluded."""

    def ignored(self, relpath: str, is_dir: bool = False) -> bool: ...


def default_ignored(path: str) -> bool:
    """True when any component of ``path`` (``/``-separated) matches a default ignore."""
    return any(_DEFAULT_RE.match(part) for part in path.split("/") if part)


def patterns(items: tuple[str, ...] | list[str]) -> PathMatcher | None:
    """A matcher for ``.dockerignore``-syntax patterns, or None when there are none."""
    return IgnoreRules.from_patterns(items) if items else None


def load_context_ignore(context: Path, dockerfile: str | None = None) -> PathMatcher | None:
    """The build context's ignore rules (``<Dockerfile>.dockerignore``, ``.stackignore``,
    ``.dockerignore``: Docker's lookup), or None when it has none."""
    rules = IgnoreRules.for_context(context, dockerfile)
    return rules if rules else None
