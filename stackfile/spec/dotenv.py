"""Compose's dotenv syntax: ``KEY=VALUE``, ``export KEY=VALUE``, ``KEY: VALUE``, bare ``KEY``
(inherited), single quotes (raw), double quotes (escapes and ``${VAR}``), inline ``#`` comments
on unquoted values, a UTF-8 BOM, and substitutions from earlier keys and the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stackfile.errors import InvalidSpec, Location, NotFound
from stackfile.spec.interpolate import substitute

__all__ = ["parse_dotenv", "read_dotenv"]

_SPACE = " \t\v\f\r\x85\xa0"
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'", "$": "$$"}


class _DotenvError(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _key(src: str, pos: int) -> tuple[str, int, bool]:
    if src.startswith("export", pos) and pos + 6 < len(src) and src[pos + 6] in _SPACE:
        pos += 6
        while pos < len(src) and src[pos] in _SPACE:
            pos += 1
    start = pos
    while pos < len(src):
        ch = src[pos]
        if ch in "=:\n":
            key = src[start:pos].rstrip()
            if " " in key or "\t" in key:
                raise _DotenvError("key cannot contain a space")
            pos += 1
            if ch != "\n":
                while pos < len(src) and src[pos] in _SPACE:
                    pos += 1
            return key, pos, ch == "\n"
        if not (ch.isalnum() or ch in "_.-" or ch in _SPACE):
            raise _DotenvError(f"unexpected character {ch!r} in variable name")
        pos += 1
    key = src[start:pos].rstrip()
    if " " in key or "\t" in key:
        raise _DotenvError("key cannot contain a space")
    return key, pos, True


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value) and value[i + 1] in _ESCAPES:
            out.append(_ESCAPES[value[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _value(src: str, pos: int, expand: Callable[[str], str]) -> tuple[str, int]:
    quote = src[pos] if pos < len(src) and src[pos] in "'\"" else ""
    if not quote:
        end = src.find("\n", pos)
        end = len(src) if end < 0 else end
        raw = src[pos:end]
        hash_at = next(
            (i for i in range(len(raw)) if raw[i] == "#" and (i == 0 or raw[i - 1] in _SPACE)), len(raw)
        )
        return expand(raw[:hash_at].rstrip()), end
    i = pos + 1
    while i < len(src):
        if src[i] == quote and src[i - 1] != "\\":
            body = src[pos + 1 : i]
            if quote == '"':
                return expand(_unescape(body)), i + 1
            return body.replace("\\'", "'"), i + 1
        i += 1
    line = src[pos:].split("\n", 1)[0]
    raise _DotenvError(f"unterminated quoted value {line}")


def parse_dotenv(text: str, lookup: Callable[[str], str | None] | None = None) -> dict[str, str]:
    """Parse dotenv text. ``lookup`` resolves variables not defined earlier in the file."""
    text = text.removeprefix("\ufeff")
    out: dict[str, str] = {}

    def resolve(name: str) -> str | None:
        if name in out:
            return out[name]
        return lookup(name) if lookup else None

    def expand(value: str) -> str:
        return substitute(value, resolve) if "$" in value else value

    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos] in _SPACE + "\n":
            pos += 1
        if pos >= n:
            break
        line_no = text.count("\n", 0, pos) + 1
        if text[pos] == "#":
            nl = text.find("\n", pos)
            pos = n if nl < 0 else nl
            continue
        try:
            key, pos, inherited = _key(text, pos)
            if not key:
                raise _DotenvError("missing variable name")
            if inherited:
                found = lookup(key) if lookup else None
                if found is not None:
                    out[key] = found
                continue
            value, pos = _value(text, pos, expand)
        except ValueError as exc:
            raise _DotenvError(f"line {line_no}: {exc}", line_no) from None
        out[key] = value
        nl = text.find("\n", pos)
        rest = text[pos : n if nl < 0 else nl].strip(_SPACE)
        if rest and not rest.startswith("#"):
            raise _DotenvError(f"line {line_no}: unexpected text after the value: {rest!r}", line_no)
        pos = n if nl < 0 else nl
    return out


def read_dotenv(
    path: Path, lookup: Callable[[str], str | None] | None = None, where: str | None = None
) -> dict[str, str]:
    """Read and parse a dotenv file; errors are ``InvalidSpec``/``NotFound`` naming the file."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise NotFound(
            f"env file {path} not found",
            location=Location(where) if where else None,
            hint="create the file, fix the path, or mark it 'required: false'",
        ) from None
    except OSError as exc:
        raise InvalidSpec(f"cannot read env file {path}: {exc.strerror}") from None
    try:
        return parse_dotenv(text, lookup)
    except _DotenvError as exc:
        raise InvalidSpec(
            f"failed to read {path}: {exc}",
            location=Location(str(path), exc.line),
            hint="each line must be KEY=VALUE, 'export KEY=VALUE' or a # comment",
        ) from None
