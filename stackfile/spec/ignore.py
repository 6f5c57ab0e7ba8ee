"""``.dockerignore`` / ``.stackignore`` rules with Docker's exact semantics (moby/patternmatcher).

Patterns are Go ``filepath.Match`` globs plus ``**``; ``!`` re-includes; the last matching pattern
wins; a pattern that matches a directory matches everything inside it. Each pattern is compiled
once to a regex (or a plain string compare when it has no wildcard). Paths are relative to the
context, with ``/`` separators. No third-party imports: the builder and watcher use this on hot paths.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["IgnoreRules", "clean_pattern", "read_patterns"]

_REGEX_SPECIAL = set(".+()|{}$")


def clean_pattern(raw: str) -> str | None:
    """Docker's ignorefile normalisation: trim, drop blank, Clean, strip a leading ``/`` (None if blank)."""
    pattern = raw.strip()
    if not pattern:
        return None
    invert = pattern.startswith("!")
    if invert:
        pattern = pattern[1:].strip()
    if pattern:
        pattern = posixpath.normpath(pattern)
        if pattern.startswith("//"):
            pattern = "/" + pattern.lstrip("/")
        if len(pattern) > 1 and pattern.startswith("/"):
            pattern = pattern[1:]
    return "!" + pattern if invert else pattern


def read_patterns(text: str) -> list[str]:
    """The cleaned patterns of an ignore file's text (BOM, comments and blank lines dropped)."""
    out = []
    for raw in text.removeprefix("\ufeff").splitlines():
        if raw.startswith("#"):
            continue
        pattern = clean_pattern(raw)
        if pattern is not None:
            out.append(pattern)
    return out


class _Pattern:
    """One compiled pattern. A plain class: the build fast path must not import ``dataclasses``."""

    __slots__ = ("dirs", "exclusion", "kind", "regex", "text")

    def __init__(self, text: str, exclusion: bool, kind: str, regex: re.Pattern[str] | None,
                 dirs: tuple[str, ...]) -> None:
        self.text = text  # cleaned, without "!"
        self.exclusion = exclusion
        self.kind = kind  # exact | prefix | suffix | regex
        self.regex = regex
        self.dirs = dirs

    def regex_text(self) -> str:
        """This pattern as one regex (for the combined quick-reject test)."""
        if self.kind == "exact":
            return re.escape(self.text) + r"\Z"
        if self.kind == "prefix":
            return re.escape(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            alt = "|" + re.escape(suffix[1:]) + r"\Z" if suffix[:1] == "/" else ""
            return f"(?:.*{re.escape(suffix)}\\Z{alt})"
        assert self.regex is not None
        return self.regex.pattern

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix[:1] == "/" and path == suffix[1:])
        assert self.regex is not None
        return self.regex.match(path) is not None


def _translate(pattern: str) -> tuple[str, str]:
    """moby/patternmatcher ``compile``: the match kind and the regex text."""
    out = "^"
    kind = "exact"
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*" and i + 1 < n and pattern[i + 1] == "*":
            start = i
            i += 2
            if i < n and pattern[i] == "/":
                i += 1
            if i >= n:
                if kind == "exact":
                    kind = "prefix"
                else:
                    out += ".*"
                    kind = "regex"
            else:
                out += "(.*/)?"
                kind = "regex"
            if start == 0:
                kind = "suffix"
            continue
        if ch == "*":
            out += "[^/]*"
            kind = "regex"
        elif ch == "?":
            out += "[^/]"
            kind = "regex"
        elif ch in _REGEX_SPECIAL:
            out += "\\" + ch
        elif ch == "\\":
            out += re.escape(pattern[i + 1]) if i + 1 < n else "\\\\"
            kind = "regex"
            i += 1
        elif ch in "[]":
            out += ch
            kind = "regex"
        else:
            out += ch
        i += 1
    return kind, out + "(/.*)?$"


def _compile(raw: str, origin: str | None) -> _Pattern:
    exclusion = raw.startswith("!")
    text = raw[1:] if exclusion else raw
    if exclusion and not text:
        from stackfile.errors import InvalidSpec, Location

        raise InvalidSpec('illegal exclusion pattern: "!"', location=Location(file=origin),
                          hint="write the path to re-include after the !, e.g. !keep.txt")
    kind, regex_text = _translate(text)
    regex = None
    if kind == "regex":
        try:
            regex = re.compile(regex_text, re.DOTALL)
        except re.error as exc:
            from stackfile.errors import InvalidSpec, Location

            raise InvalidSpec(f"bad ignore pattern {raw!r}: {exc}", location=Location(file=origin),
                              hint="patterns are Go filepath.Match globs: * ? [a-z] and **") from None
    return _Pattern(text, exclusion, kind, regex, tuple(text.split("/")))


class IgnoreRules:
    """Compiled ignore rules. ``ignored('a/b.txt', is_dir=False)`` follows Docker exactly."""

    def __init__(self, patterns: Iterable[str], *, origin: str | None = None) -> None:
        cleaned = [p for p in (clean_pattern(raw) for raw in patterns) if p is not None]
        self.patterns: tuple[str, ...] = tuple(cleaned)
        self._compiled = tuple(_compile(p, origin) for p in cleaned)
        self._exclusions = tuple(p for p in self._compiled if p.exclusion)
        self._dir_hits: dict[str, int] = {}
        self._any = re.compile("|".join(f"(?:{p.regex_text()})" for p in self._compiled), re.DOTALL)

    @classmethod
    def from_patterns(cls, patterns: Iterable[str]) -> IgnoreRules:
        return cls(patterns)

    @classmethod
    def from_file(cls, path: str | Path) -> IgnoreRules:
        """Rules of an ignore file; a missing file means no rules."""
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                text = fh.read()
        except FileNotFoundError:
            return cls(())
        return cls(read_patterns(text), origin=str(path))

    @classmethod
    def for_context(cls, context: str | Path, dockerfile: str | None = None) -> IgnoreRules:
        """Docker's lookup: ``<Dockerfile>.dockerignore`` next to the Dockerfile, then
        ``.stackignore`` / ``.dockerignore`` in the context (first one found)."""
        root = os.fspath(context)
        candidates = [dockerfile + ".dockerignore"] if dockerfile else []
        candidates += [".stackignore", ".dockerignore"]
        for candidate in candidates:
            path = os.path.join(root, candidate)  # a relative candidate is relative to the context
            if os.path.isfile(path):
                return cls.from_file(path)
        return cls(())

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def ignored(self, relpath: str, is_dir: bool = False) -> bool:
        """True when ``relpath`` (relative, ``/``-separated) is excluded from the context."""
        if not self._compiled:
            return False
        path = _normalise(relpath)
        parent = posixpath.dirname(path)
        above = self._ancestor_hits(parent) if parent else 0
        if not above and self._any.match(path) is None:
            return False
        matched = False
        for index, pattern in enumerate(self._compiled):
            if pattern.exclusion != matched:
                continue
            if (above >> index) & 1 or pattern.match(path):
                matched = not pattern.exclusion
        return matched

    def _ancestor_hits(self, directory: str) -> int:
        """Bit i set when pattern i matches ``directory`` or one of its parents (memoised per dir)."""
        cached = self._dir_hits.get(directory)
        if cached is not None:
            return cached
        parent = posixpath.dirname(directory)
        hits = self._ancestor_hits(parent) if parent else 0
        for index, pattern in enumerate(self._compiled):
            if not (hits >> index) & 1 and pattern.match(directory):
                hits |= 1 << index
        if len(self._dir_hits) > 65536:
            self._dir_hits.clear()
        self._dir_hits[directory] = hits
        return hits

    def can_skip_dir(self, relpath: str) -> bool:
        """True when ``relpath`` is ignored and no ``!`` pattern could re-include anything inside."""
        if not self.ignored(relpath, True):
            return False
        parts = _normalise(relpath).split("/")
        return not any(_could_match_below(p.dirs, parts) for p in self._exclusions)


def _normalise(relpath: str) -> str:
    path = posixpath.normpath(relpath) if relpath else "."
    return path.lstrip("/") or "."


def _could_match_below(pattern_dirs: tuple[str, ...], dir_parts: list[str]) -> bool:
    """Conservative: could this pattern match a path strictly inside ``dir_parts``?"""
    if len(pattern_dirs) <= len(dir_parts):
        return any("**" in d for d in pattern_dirs)
    for pat, part in zip(pattern_dirs, dir_parts, strict=False):
        if "**" in pat:
            return True
        if not _component_match(pat, part):
            return False
    return True


def _component_match(pattern: str, name: str) -> bool:
    kind, regex_text = _translate(pattern)
    if kind == "exact":
        return pattern == name
    try:
        return re.match(regex_text, name) is not None
    except re.error:
        return True
