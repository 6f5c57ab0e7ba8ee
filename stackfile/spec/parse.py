"""Parse YAML text into plain data plus a side index of positions keyed by key path.

Uses libyaml (``yaml.CParser``) to compose nodes and builds the values itself so that it can
keep every key's line and column, resolve scalars like Compose (YAML 1.2 core schema: ``yes``
and ``80:80`` stay strings), reject duplicate and non-string keys, honour ``<<`` merge keys and
the ``!reset``/``!override`` tags, and refuse alias bombs and absurd nesting before they cost
anything.
"""

from __future__ import annotations

from typing import Any

from stackfile.errors import InvalidSpec, Location
from stackfile.spec._lazyre import LazyPattern
from stackfile.spec._yaml import yaml
from stackfile.spec.tags import Override, Reset

__all__ = ["MAX_DEPTH", "MAX_NODES", "Path", "Positions", "dotted", "parse_yaml"]

Path = tuple[str | int, ...]
Positions = dict[Path, tuple[int, int]]

MAX_DEPTH = 100
MAX_NODES = 1_000_000

_CParser: Any
try:
    from yaml._yaml import CParser as _CParser  # libyaml
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

_FLOAT: Any = LazyPattern(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
    r"|\.(?:nan|NaN|NAN))$"
)
_OCTAL_DIGITS = frozenset("01234567")
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


class _Resolver(yaml.resolver.BaseResolver):
    """Leaves plain scalars untagged (``!``-less); :func:`_scalar` resolves them itself."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return "?" if implicit[0] else _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


class _PyLoader(
    yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer, _Resolver
):
    """Pure-Python fallback when PyYAML lacks libyaml."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Resolver.__init__(self)


if _CParser is not None:

    class _CLoader(_CParser, _Resolver):
        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            _Resolver.__init__(self)


def _Loader(text: str) -> Any:
    return _CLoader(text) if _CParser is not None else _PyLoader(text)


def dotted(path: Path) -> str:
    """``("services", "web", "ports", 0)`` → ``services.web.ports[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _int(text: str) -> int | None:
    body = text[1:] if text[0] in "+-" else text
    if body.isascii() and body.isdigit():
        if len(body) > 1 and body[0] == "0" and _OCTAL_DIGITS.issuperset(body):  # yaml.v3 reads 0440 as octal
            return int(text[0] + body[1:], 8) if text[0] in "+-" else int(body[1:], 8)
        return int(text)
    if text[:2] in ("0o", "0x"):
        try:
            return int(text, 0)
        except ValueError:
            return None
    return None


def _plain(text: str) -> Any:
    """Resolve a plain scalar with the YAML 1.2 core schema (as Compose's yaml.v3 does)."""
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if text[0] not in "0123456789+-.":
        return text
    number = _int(text)
    if number is not None:
        return number
    if _FLOAT.match(text):
        lowered = text.lower()
        if "nan" in lowered:
            return text  # NaN is never a useful Compose value; keep the text
        if "inf" in lowered:
            return float("-inf") if lowered.startswith("-") else float("inf")
        return float(text)
    return text


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: Positions = {}
        self.sizes: dict[int, int] = {}

    def error(self, node: Any, path: Path, message: str, hint: str | None = None) -> InvalidSpec:
        mark = node.start_mark
        loc = Location(self.file, mark.line + 1, mark.column + 1, dotted(path) or None)
        return InvalidSpec(message, location=loc, hint=hint)

    def size(self, node: Any, depth: int = 0) -> int:
        """Expanded node count (aliases counted every time they are used), memoised per node."""
        if depth > MAX_DEPTH:
            raise self.error(
                node, (), f"document is nested deeper than {MAX_DEPTH} levels", hint="flatten the structure"
            )
        key = id(node)
        if key in self.sizes:
            return self.sizes[key]
        self.sizes[key] = 1  # guards recursive aliases
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(self.size(k, depth + 1) + self.size(v, depth + 1) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(self.size(v, depth + 1) for v in node.value)
        self.sizes[key] = total
        return total

    def build(self, node: Any, path: Path) -> Any:
        tag = node.tag
        if tag in ("!reset", "!override"):
            inner = self._untagged(node, path)
            return Reset(inner) if tag == "!reset" else Override(inner)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, path)
        return self._mapping(node, path)

    def _untagged(self, node: Any, path: Path) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return None if node.value == "" else self._plain(node, path) if node.style is None else node.value
        return (
            self._sequence(node, path) if isinstance(node, yaml.SequenceNode) else self._mapping(node, path)
        )

    def _plain(self, node: Any, path: Path) -> Any:
        try:
            return _plain(node.value)
        except ValueError:  # an integer longer than Python converts (sys.get_int_max_str_digits)
            raise self.error(
                node,
                path,
                f"number with {len(node.value)} digits is too large",
                hint="quote it to keep it a string",
            ) from None

    def _scalar(self, node: Any, path: Path) -> Any:
        tag, text = node.tag, node.value
        if tag == "?":
            return self._plain(node, path)
        if tag == _STR:
            return text
        simple: dict[str, Any] = {
            "tag:yaml.org,2002:int": int,
            "tag:yaml.org,2002:float": float,
            "tag:yaml.org,2002:bool": lambda t: _BOOL[t],
            "tag:yaml.org,2002:null": lambda t: None,
        }
        if tag in simple:
            try:
                return simple[tag](text)
            except (KeyError, ValueError):
                raise self.error(node, path, f"cannot decode {text!r} as {tag.rsplit(':', 1)[-1]}") from None
        raise self.error(node, path, f"unsupported YAML tag {tag}", hint="use !reset or !override")

    def _sequence(self, node: Any, path: Path) -> list[Any]:
        out = []
        for i, item in enumerate(node.value):
            sub = (*path, i)
            self.positions.setdefault(sub, (item.start_mark.line + 1, item.start_mark.column + 1))
            out.append(self.build(item, sub))
        return out

    def _mapping(self, node: Any, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or (key_node.tag == "?" and key_node.value == "<<"):
                self._merge_into(merged, value_node, path)
                continue
            key = self._key(key_node, path)
            if key in seen:
                raise self.error(
                    key_node,
                    (*path, key),
                    f"mapping key {key!r} already defined at line {seen[key]}",
                    hint="remove one of the duplicate keys",
                )
            seen[key] = key_node.start_mark.line + 1
            sub = (*path, key)
            self.positions[sub] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, sub)
        return {**merged, **out} if merged else out

    def _key(self, node: Any, path: Path) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(
                node,
                path,
                f"non-string key in {dotted(path) or 'the document'}",
                hint="mapping keys must be strings",
            )
        value = self._scalar(node, path) if node.tag in ("?", _STR) else node.value
        if node.tag not in ("?", _STR) or not isinstance(value, str):
            raise self.error(
                node,
                path,
                f"non-string key in {dotted(path) or 'the document'}: {node.value}",
                hint=f'quote the key: "{node.value}"',
            )
        return value

    def _merge_into(self, merged: dict[str, Any], node: Any, path: Path) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for src in sources:
            if not isinstance(src, yaml.MappingNode):
                raise self.error(
                    src,
                    path,
                    "map merge requires map or sequence of maps as the value",
                    hint="'<<' must refer to a mapping (an anchor like &base on a mapping)",
                )
        for src in reversed(sources):  # earlier sources win
            merged.update(self._mapping(src, path))


_DEEP_INDENT: Any = LazyPattern(r"\n[ \t]{" + str(MAX_DEPTH * 2) + ",}")


def _check_depth(text: str, file: str) -> None:
    """Refuse absurd nesting from the event stream, before libyaml's recursive composer sees it."""
    if text.count("[") + text.count("{") <= MAX_DEPTH * 4 and not _DEEP_INDENT.search(text):
        return
    loader = _Loader(text)
    depth = 0
    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark: Any = event.start_mark
                    raise InvalidSpec(
                        f"document is nested deeper than {MAX_DEPTH} levels",
                        location=Location(file, mark.line + 1, mark.column + 1),
                        hint="flatten the structure",
                    )
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        if "nesting depth" not in str(exc):
            return  # the real parse reports it with its position
        # libyaml >= 0.2.6 (PyYAML 6.0.4 wheels) stops at its own depth limit first
        mark = getattr(exc, "problem_mark", None)
        raise InvalidSpec(
            f"document is nested deeper than {MAX_DEPTH} levels",
            location=Location(file, mark.line + 1, mark.column + 1) if mark else Location(file),
            hint="flatten the structure",
        ) from None
    finally:
        loader.dispose()


_CLOSERS = {"[": "]", "{": "}", '"': '"', "'": "'"}


def _unclosed(text: str, exc: Any) -> tuple[str, str]:
    """Where the construct the parser was in began (`` in the flow sequence that began at line 4,
    column 14``), and a hint: the error's own position is where the parser gave up, often lines
    after the bracket or quote that was never closed."""
    hint = "check indentation, quoting and ':' separators"
    start: Any = exc.context_mark
    what = (exc.context or "").removeprefix("while parsing ").removeprefix("while scanning ")
    if start is None or not what or exc.problem_mark is None:
        return "", hint
    what = what.removeprefix("a ")
    began = f" (in the {what} that began at line {start.line + 1}, column {start.column + 1})"
    lines = text.splitlines()
    opener = lines[start.line][start.column:start.column + 1] if start.line < len(lines) else ""
    if opener in _CLOSERS and ("flow" in what or "quoted" in what):
        hint = f"close the {opener} of line {start.line + 1} with {_CLOSERS[opener]}, or " + hint
    return began, hint


def parse_yaml(text: str, file: str) -> tuple[Any, Positions]:
    """Parse one YAML document; return ``(data, positions)``. Errors name file:line:col."""
    _check_depth(text, file)
    loader = _Loader(text)
    builder = _Builder(file)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark: Any = exc.problem_mark or exc.context_mark
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        began, hint = _unclosed(text, exc)
        raise InvalidSpec(f"invalid YAML: {exc.problem or exc.context}{began}", location=loc,
                          hint=hint) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a NUL, a control character)
        before = text[: exc.position]
        loc = Location(file, before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1)
        raise InvalidSpec(
            f"invalid YAML: {exc.reason} (character #x{exc.character:04x})"
            if isinstance(exc.character, int)
            else f"invalid YAML: {exc.reason}",
            location=loc,
            hint="remove control characters from the file",
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidSpec(f"invalid YAML: {exc}", location=Location(file)) from None
    finally:
        loader.dispose()
    if node is None:
        return None, {}
    if "*" in text and builder.size(node) > MAX_NODES:  # only aliases (*name) can blow up
        raise builder.error(
            node,
            (),
            f"document expands to more than {MAX_NODES} values through aliases",
            hint="this looks like an alias bomb; reduce the use of *aliases",
        )
    return builder.build(node, ()), builder.positions
