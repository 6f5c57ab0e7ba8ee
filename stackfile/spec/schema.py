"""A small, fast JSON-schema validator over the Compose schema, with located, actionable errors.

Supports what the Compose schema uses: ``$ref``, ``type``, ``properties``,
``additionalProperties``, ``patternProperties``, ``required``, ``enum``, ``oneOf``/``anyOf``/
``allOf``, ``items``, ``uniqueItems``, ``minimum``/``maximum``, ``pattern``. Strings that spell
a boolean or a number are accepted where one is expected, since interpolation yields strings.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, cast

from stackfile.errors import InvalidSpec, Location
from stackfile.spec._lazyre import LazyPattern
from stackfile.spec.parse import Path, Positions, dotted
from stackfile.spec.tags import Override, Reset

__all__ = ["SchemaError", "schema", "validate", "validate_document"]

_BOOL_TEXT = {"true", "false", "True", "False", "TRUE", "FALSE", "yes", "no", "y", "n", "on", "off"}
_NUM: Any = LazyPattern(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")
_INT: Any = LazyPattern(r"^[-+]?[0-9]+$")


class SchemaError(ValueError):
    """One violation: where (key path) and what."""

    def __init__(
        self, path: Path, message: str, hint: str | None = None, at: Path | None = None, found: Any = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self._hint = hint
        self.kinds: list[str] = []
        self.found = found
        self.at = path if at is None else at  # where to point in the file

    @property
    def hint(self) -> str | None:
        """Computed when shown: failed oneOf branches raise many errors that nobody reads."""
        if self._hint is None and self.kinds:
            self._hint = _type_hint(self.path, self.kinds, self.found)
        return self._hint


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The Compose schema plus stackfile's top-level ``images:`` and ``environments:``."""
    from stackfile.spec._schema_data import SCHEMA_JSON

    data: dict[str, Any] = json.loads(SCHEMA_JSON)
    data["properties"]["images"] = {"type": "object"}
    data["properties"]["environments"] = {"type": "object"}
    return data


_REFS: dict[str, dict[str, Any]] = {}
_PATTERNS: dict[str, re.Pattern[str]] = {}


def _resolve(ref: str) -> dict[str, Any]:
    node = _REFS.get(ref)
    if node is None:
        found: Any = schema()
        for part in ref.lstrip("#/").split("/"):
            found = found[part]
        node = _REFS[ref] = cast(dict[str, Any], found)
    return node


def _pattern(text: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(text)
    if compiled is None:
        compiled = _PATTERNS[text] = re.compile(text)
    return compiled


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool) or (isinstance(value, str) and value in _BOOL_TEXT)
    if kind == "integer":
        return (
            (isinstance(value, int) and not isinstance(value, bool))
            or (isinstance(value, float) and value.is_integer())
            or (isinstance(value, str) and bool(_INT.match(value)))
        )
    if kind == "number":
        return (isinstance(value, int | float) and not isinstance(value, bool)) or (
            isinstance(value, str) and bool(_NUM.match(value))
        )
    return True


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "null": "null",
}


def _describe(kinds: list[str]) -> str:
    words = [_TYPE_WORDS.get(k, k) for k in sorted(set(kinds))]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _kinds(node: dict[str, Any]) -> list[str]:
    if "$ref" in node:
        return _kinds(_resolve(node["$ref"]))
    kind = node.get("type")
    if kind is not None:
        return [kind] if isinstance(kind, str) else list(kind)
    out: list[str] = []
    for sub in node.get("oneOf", []) + node.get("anyOf", []):
        out.extend(_kinds(sub))
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUM.match(value):
        return float(value)
    return None


_TAGGED = (Reset, Override)
_SCALAR_KEYS = ("minimum", "maximum", "pattern")
_SIMPLE = {"string": str, "object": dict, "array": list}


def _kind_ok(value: Any, kind: Any) -> bool:
    if isinstance(kind, str):
        simple = _SIMPLE.get(kind)
        return isinstance(value, simple) if simple is not None else _type_ok(value, kind)
    return any(_kind_ok(value, k) for k in kind)


Errors = list[SchemaError] | None  # where a collecting validation adds violations


def validate(value: Any, node: dict[str, Any], path: Path = (), errors: Errors = None) -> None:
    """Raise :class:`SchemaError` for the first violation of ``node`` by ``value``; with ``errors``,
    each member of a mapping or list is checked on its own and its violation added there (a
    ``oneOf`` branch is still tried strictly: its first violation rejects it)."""
    if type(value) in _TAGGED:
        value = value.value
        if value is None:
            return
    ref = node.get("$ref")
    if ref is not None:
        validate(value, _resolve(ref), path, errors)
    kind = node.get("type")
    if kind is not None and not _kind_ok(value, kind):
        kinds = [kind] if isinstance(kind, str) else kind
        raise _type_error(path, kinds, value)
    if "oneOf" in node:
        _one_of(value, node["oneOf"], path)
    if "anyOf" in node:
        _one_of(value, node["anyOf"], path)
    for sub in node.get("allOf", ()):
        validate(value, sub, path, errors)
    if "enum" in node and value not in node["enum"] and str(value) not in map(str, node["enum"]):
        raise SchemaError(path, "must be one of " + ", ".join(map(str, node["enum"])))
    if isinstance(value, dict):
        _object(value, node, path, errors)
    elif isinstance(value, list):
        _array(value, node, path, errors)
    elif any(k in node for k in _SCALAR_KEYS):
        _scalar(value, node, path)


def _scalar(value: Any, node: dict[str, Any], path: Path) -> None:
    number = _number(value)
    if number is not None:
        if "minimum" in node and number < node["minimum"]:
            raise SchemaError(
                path,
                f"must be greater than or equal to {node['minimum']}",
                f"use a value of at least {node['minimum']}",
            )
        if "maximum" in node and number > node["maximum"]:
            raise SchemaError(
                path,
                f"must be less than or equal to {node['maximum']}",
                f"use a value of at most {node['maximum']}",
            )
    if isinstance(value, str) and "pattern" in node and not _pattern(node["pattern"]).search(value):
        raise SchemaError(path, f"{value!r} does not match the pattern {node['pattern']}")


def _one_of(value: Any, options: list[dict[str, Any]], path: Path) -> None:
    errors: list[SchemaError] = []
    for option in options:
        try:
            validate(value, option, path)
            return
        except SchemaError as exc:
            errors.append(exc)
    typed = [e for o, e in zip(options, errors, strict=True) if any(_type_ok(value, k) for k in _kinds(o))]
    if typed:
        raise max(typed, key=lambda e: len(e.path))
    kinds = [k for o in options for k in _kinds(o)]
    raise _type_error(path, kinds, value)


def _member(value: Any, node: dict[str, Any], path: Path, errors: Errors) -> None:
    if errors is None:
        validate(value, node, path)
        return
    try:
        validate(value, node, path, errors)
    except SchemaError as exc:
        errors.append(exc)


def _raise(exc: SchemaError, errors: Errors) -> None:
    if errors is None:
        raise exc
    errors.append(exc)


def _object(value: dict[str, Any], node: dict[str, Any], path: Path, errors: Errors) -> None:
    props = node.get("properties", {})
    patterns = node.get("patternProperties", {})
    extra = node.get("additionalProperties", True)
    for key in node.get("required", ()):
        if key not in value:
            sub = props.get(key, {})
            choices = (
                sub.get("enum") or _resolve(sub["$ref"]).get("enum") if "$ref" in sub else sub.get("enum")
            )
            hint = f"add {key}: " + (f"one of {', '.join(map(str, choices))}" if choices else "<value>")
            _raise(SchemaError(path, f"missing property '{key}'", hint), errors)
    for key, item in value.items():
        sub = (*path, key)
        if key in props:
            _member(item, props[key], sub, errors)
            continue
        matched = [p for p in patterns if _pattern(p).search(key)]
        for pattern in matched:
            _member(item, patterns[pattern], sub, errors)
        if matched:
            continue
        if extra is False:
            _raise(SchemaError(path, f"additional property {key!r} not allowed", _suggest(key, props),
                               at=sub), errors)
        elif isinstance(extra, dict):
            _member(item, extra, sub, errors)


_EXAMPLES = {
    "object": "KEY: value entries on their own lines (or {KEY: value})",
    "array": "a '- item' list (or [a, b])",
    "string": 'quoted text such as "value"',
}


def _type_error(path: Path, kinds: list[str], value: Any) -> SchemaError:
    err = SchemaError(path, f"must be {_describe(kinds)}", found=value)
    err.kinds = kinds
    return err


def _type_hint(path: Path, kinds: list[str], value: Any) -> str:
    got = (
        type(value)
        .__name__.replace("dict", "a mapping")
        .replace("list", "a list")
        .replace("NoneType", "null")
    )
    wanted = [_EXAMPLES[k] for k in sorted(set(kinds)) if k in _EXAMPLES]
    return f"got {got}" + (f"; write {' or '.join(wanted)}" if wanted else "")


def _suggest(key: str, props: dict[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(props), n=1)
    valid = ", ".join(sorted(props)) if len(props) <= 12 else ", ".join(sorted(props)[:12]) + ", ..."
    return (f"did you mean {close[0]!r}? " if close else "") + (
        f"valid keys: {valid}" if props else "no keys are allowed here"
    )


def _array(value: list[Any], node: dict[str, Any], path: Path, errors: Errors) -> None:
    items = node.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _member(item, items, (*path, i), errors)
    if node.get("uniqueItems"):
        seen: set[str] = set()
        for i, item in enumerate(value):
            key = json.dumps(item, sort_keys=True, default=str)
            if key in seen:
                _raise(SchemaError((*path, i), f"duplicate entry {item!r} (items must be unique)"), errors)
            seen.add(key)


def validate_document(
    doc: Any, file: str | None, positions: Positions | None = None, prefix: Path = ()
) -> None:
    """Validate one (interpolated) file against the schema; errors name file:line:col and key path.

    Every violation of the file is reported at once, in file order: the first is raised, the
    others ride along in its ``also``. ``prefix`` locates a partial document (an ``environments:``
    overlay) inside its file.
    """
    errors: list[SchemaError] = []
    try:
        validate(doc, schema(), (), errors)
    except SchemaError as exc:
        errors.append(exc)
    if not errors:
        return
    found = [_located(exc, file, positions or {}, prefix) for exc in errors]
    found.sort(key=_file_order)
    first = found[0]
    first.also = tuple(found[1:])
    raise first


def _file_order(err: InvalidSpec) -> tuple[bool, int, int]:
    loc = err.location
    if loc is None or loc.line is None:
        return (True, 0, 0)
    return (False, loc.line, loc.column or 0)


def _located(exc: SchemaError, file: str | None, positions: Positions, prefix: Path) -> InvalidSpec:
    path, where = (*prefix, *exc.path), (*prefix, *exc.at)
    pos = None
    while where and pos is None:
        pos = positions.get(where)
        where = where[:-1] if pos is None else where
    key = dotted(path) or "(top level)"
    loc = Location(file, pos[0] if pos else None, pos[1] if pos else None, key)
    return InvalidSpec(f"{key} {exc.message}", location=loc, hint=exc.hint)
