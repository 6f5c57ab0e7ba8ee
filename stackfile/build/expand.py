"""Dockerfile-style variable substitution: ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR:+alt}``.

Applied by the builder to the words of non-RUN steps (ENV, WORKDIR, COPY, LABEL, ...) with the
ARG and ENV values in scope at that step; ``\\$`` is a literal dollar. RUN is left to the shell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["expand"]

_VAR = re.compile(r"\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand(text: str, scope: Mapping[str, str]) -> str:
    """Substitute variables in ``text`` from ``scope``; unknown variables become empty."""
    if "$" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "\\$":
            return "$"
        name = m.group(1) or m.group(4)
        value = scope.get(name)
        op, word = m.group(2), m.group(3)
        if op in (":-", "-"):
            unset = value is None or (op == ":-" and value == "")
            return expand(word or "", scope) if unset else str(value)
        if op in (":+", "+"):
            isset = value is not None and (op == "+" or value != "")
            return expand(word or "", scope) if isset else ""
        return value or ""

    return _VAR.sub(repl, text)
