"""Compose variable interpolation over plain data: ``$VAR``, ``${VAR}``, ``${VAR:-d}``, ``${VAR-d}``,
``${VAR:?e}``, ``${VAR?e}``, ``${VAR:+r}``, ``${VAR+r}``, nested defaults and ``$$``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stackfile.errors import InvalidSpec, Location
from stackfile.spec._lazyre import LazyPattern
from stackfile.spec.tags import Override, Reset

__all__ = ["Lookup", "interpolate", "substitute"]

Lookup = Callable[[str], "str | None"]

_NAME: Any = LazyPattern(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPS = (":-", ":?", ":+", "-", "?", "+")


class _TemplateError(ValueError):
    pass


def _closing(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` whose body starts at ``start``."""
    depth, i = 1, start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth, i = depth + 1, i + 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise _TemplateError(f"invalid template {text!r}: missing '}}'")


Missing = Callable[[str], None] | None


def _plain_ref(name: str, lookup: Lookup, missing: Missing) -> str:
    value = lookup(name)
    if value is None and missing is not None:
        missing(name)
    return value or ""


def _braced(body: str, lookup: Lookup, whole: str, missing: Missing) -> str:
    m = _NAME.match(body)
    if not m:
        raise _TemplateError(f"invalid template {whole!r}: bad variable name in '${{{body}}}'")
    name, rest = m.group(0), body[m.end() :]
    if not rest:
        return _plain_ref(name, lookup, missing)
    value = lookup(name)
    op = next((o for o in _OPS if rest.startswith(o)), None)
    if op is None:
        raise _TemplateError(f"invalid template {whole!r}: unexpected {rest!r} after {name}")
    arg = rest[len(op) :]
    empty = value is None or (op.startswith(":") and value == "")
    if op in (":-", "-"):
        return substitute(arg, lookup, missing) if empty else (value or "")
    if op in (":+", "+"):
        return "" if empty else substitute(arg, lookup, missing)
    if empty:
        raise _Required(name, substitute(arg, lookup, missing))
    return value or ""


class _Required(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"required variable {name} is missing a value" + (f": {message}" if message else ""))
        self.name = name


def substitute(text: str, lookup: Lookup, missing: Missing = None) -> str:
    """Interpolate one string; raises ``ValueError`` with a readable message on bad templates.

    ``missing`` is told the name of every plain ``$VAR``/``${VAR}`` that is unset.
    """
    if "$" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        nxt = text[j + 1 : j + 2]
        if nxt == "$":
            out.append("$")
            i = j + 2
        elif nxt == "{":
            end = _closing(text, j + 2)
            out.append(_braced(text[j + 2 : end], lookup, text, missing))
            i = end + 1
        else:
            m = _NAME.match(text, j + 1)
            if not m:  # a lone '$' (e.g. "$(cmd)") stays literal, as in Compose
                out.append("$")
                i = j + 1
                continue
            out.append(_plain_ref(m.group(0), lookup, missing))
            i = m.end()
    return "".join(out)


def interpolate(
    data: Any,
    env: Mapping[str, str],
    *,
    file: str | None = None,
    path: tuple[str | int, ...] = (),
    positions: Mapping[Any, tuple[int, int]] | None = None,
    on_unset: Callable[[str], None] | None = None,
) -> Any:
    """Return ``data`` with every string interpolated from ``env``; keys are left alone."""

    lookup = env.get

    def walk(value: Any, where: tuple[str | int, ...]) -> Any:
        if isinstance(value, str):
            if "$" not in value:
                return value
            try:
                return substitute(value, lookup, on_unset)
            except ValueError as exc:
                key = ".".join(str(p) for p in where)
                line_col = (positions or {}).get(where)
                loc = Location(
                    file, line_col[0] if line_col else None, line_col[1] if line_col else None, key
                )
                raise InvalidSpec(
                    f"error while interpolating {key}: {exc}",
                    location=loc,
                    hint="set the variable, give a default with ${VAR:-default}, "
                    "or write $$ for a literal '$'",
                ) from None
        if isinstance(value, dict):
            return {k: walk(v, (*where, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*where, i)) for i, v in enumerate(value)]
        if isinstance(value, Reset | Override):
            return type(value)(walk(value.value, where))
        return value

    return walk(data, path)
