"""Docker's ``--format`` Go templates for listings: ``{{.Name}}``, ``{{json .}}``, ``table ...``.

The part of Go's text/template that docker/cli's formatters are used with: field references
(``.Name``, ``.Labels``), ``.Label "key"``, the functions ``json``, ``lower``, ``upper``,
``title``, ``join``, ``truncate``, ``split``, pipelines (``.Name | upper``) and the ``\\t``/``\\n``
escapes docker replaces. A ``table`` format prints a header row and aligns the columns as docker's
tabwriter does (minimum width 10, padding 3). Anything else is an error naming what is valid.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stackfile.errors import InvalidSpec

__all__ = ["FormatTemplate", "is_template", "render"]

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
# docker/cli's header names (formatter.ContainerContext and compose's container formatter)
HEADERS = {"ID": "CONTAINER ID", "Name": "NAME", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND",
           "Project": "PROJECT", "Service": "SERVICE", "CreatedAt": "CREATED AT", "RunningFor": "CREATED",
           "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Health": "HEALTH",
           "ExitCode": "EXIT CODE", "Labels": "LABELS", "Publishers": "PUBLISHERS", "Size": "SIZE",
           "Networks": "NETWORKS",
           # docker stats
           "Container": "CONTAINER", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %",
           "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}
_FUNCS: dict[str, Callable[..., Any]] = {
    "json": lambda v: json.dumps(v, sort_keys=True),
    "lower": lambda v: _text(v).lower(),
    "upper": lambda v: _text(v).upper(),
    "title": lambda v: _text(v).title(),
    "join": lambda v, sep: sep.join(_text(x) for x in v),
    "split": lambda v, sep: _text(v).split(sep),
    "truncate": lambda v, n: _text(v)[: int(n)],
}


_ARITY = {"json": 1, "lower": 1, "upper": 1, "title": 1, "join": 2, "split": 2, "truncate": 2}


def is_template(fmt: str) -> bool:
    """Whether ``--format`` is a Go template (or ``table`` with one) rather than a format name."""
    return "{{" in fmt


def _text(value: Any) -> str:
    """A value as Go's fmt prints it: ``true``, ``[a b]``, ``map[k:v]``, ``<no value>``."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_text(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def _header(field: str, headers: Mapping[str, str] | None = None) -> str:
    named = (headers or {}).get(field) or HEADERS.get(field)
    return named or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", field).upper()


class FormatTemplate:
    """One parsed ``--format`` value; :meth:`lines` renders rows (and the header of a table)."""

    def __init__(self, fmt: str, fields: Sequence[str], headers: Mapping[str, str] | None = None) -> None:
        self.headers = headers
        text = fmt.strip()
        self.table = text.startswith("table")
        if self.table:
            text = text[len("table"):].strip()
        self.source = fmt
        self.fields = list(fields)
        text = text.replace("\\t", "\t").replace("\\n", "\n")
        self.parts: list[str | list[list[str]]] = []
        at = 0
        for match in _ACTION.finditer(text):
            self.parts.append(text[at:match.start()])
            self.parts.append(self._pipeline(match.group(1)))
            at = match.end()
        self.parts.append(text[at:])
        if "{{" in text[at:] or any("}}" in p for p in self.parts if isinstance(p, str)):
            raise self._error("unclosed action: every {{ needs its }}")

    def _error(self, what: str) -> InvalidSpec:
        fields = ", ".join("." + f for f in self.fields)
        return InvalidSpec(f"--format {self.source!r}: {what}",
                           hint=f"fields: {fields}; functions: {', '.join(sorted(_FUNCS))}; "
                                "e.g. 'table {{.Name}}\\t{{.State}}'")

    def _pipeline(self, action: str) -> list[list[str]]:
        try:
            commands = [shlex.split(part, posix=True) for part in action.split("|")]
        except ValueError as exc:
            raise self._error(f"cannot parse {{{{{action}}}}}: {exc}") from None
        for i, command in enumerate(commands):
            if not command:
                raise self._error(f"empty command in {{{{{action}}}}}")
            if any(t.startswith("(") or t.endswith(")") for t in command):
                raise self._error("parenthesized sub-expressions are not supported; use a pipeline "
                                  "({{.Name | upper}})")
            head = command[0]
            if head in _ARITY and len(command) - 1 + bool(i) != _ARITY[head]:
                raise self._error(f"wrong number of args for {head}: want {_ARITY[head]}, "
                                  f"got {len(command) - 1 + bool(i)}")
            if head.startswith("."):
                known = head == "." or head[1:].split(".")[0] in self.fields
                if not known and not (head == ".Label" and "Labels" in self.fields):
                    raise self._error(f"can't evaluate field {head[1:]}")
            elif head not in _FUNCS:
                raise self._error(f'function "{head}" not defined')
        return commands

    def _value(self, token: str, row: Mapping[str, Any]) -> Any:
        if token == ".":
            return dict(row)
        if token.startswith("."):
            value: Any = row
            for name in token[1:].split("."):
                value = value.get(name) if isinstance(value, Mapping) else None
            return value
        return token

    def _run(self, commands: list[list[str]], row: Mapping[str, Any]) -> Any:
        value: Any = None
        for i, command in enumerate(commands):
            head, args = command[0], command[1:]
            if head == ".Label" and args:  # {{.Label "key"}}: one label of the Labels text
                labels = dict(item.partition("=")[::2] for item in _text(row.get("Labels", "")).split(",")
                              if item)
                value = labels.get(args[0], "")
                continue
            if head.startswith("."):
                value = self._value(head, row)
                continue
            values = [value] * bool(i) + [self._value(a, row) for a in args]  # piped in: the subject
            try:
                value = _FUNCS[head](*values)
            except (TypeError, ValueError) as exc:
                raise self._error(f"{head}: {exc}") from None
        return value

    def _render(self, row: Mapping[str, Any] | None) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif row is None:  # the header: each action shows the header of its first field
                field = next((c[0][1:].split(".")[0] for c in part if c[0].startswith(".") and c[0] != "."),
                             "")
                out.append(_header(field, self.headers) if field else "")
            else:
                value = self._run(part, row)
                out.append(value if isinstance(value, str) else _text(value))
        return "".join(out)

    def lines(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """The text for ``rows``: one line each (after a header and aligned, for ``table``)."""
        text = [self._render(r) for r in rows]
        if not self.table:
            return text
        return _tabwrite([self._render(None), *text])


def _tabwrite(lines: list[str], minwidth: int = 10, padding: int = 3) -> list[str]:
    """Go's ``tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`` as docker uses it: tab-terminated cells
    padded to their column's widest cell plus 3 (at least 10); the text after the last tab as is."""
    rows = [line.split("\t") for line in "\n".join(lines).split("\n")]
    widths: dict[int, int] = {}
    for cells in rows:
        for i, cell in enumerate(cells[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell) + padding, minwidth)
    return ["".join(c.ljust(widths[i]) for i, c in enumerate(cells[:-1])) + cells[-1] for cells in rows]


def render(fmt: str, rows: Sequence[Mapping[str, Any]], fields: Sequence[str],
           headers: Mapping[str, str] | None = None) -> list[str]:
    """``rows`` through the ``--format`` template ``fmt`` (``fields``: the names a row has;
    ``headers``: a table's column titles where the command's differ from :data:`HEADERS`)."""
    return FormatTemplate(fmt, fields, headers).lines(rows)
