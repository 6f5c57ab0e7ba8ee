"""Jinja2 stack templates (``*.j2`` stack files), rendered before YAML parsing.

The context holds ``env`` (the environment variables), ``environment`` (the ``--env`` name or
None) and the ``--set key=value`` values at top level (``a.b=c`` becomes ``{"a": {"b": "c"}}``).
Undefined variables are errors (StrictUndefined); the sandbox keeps templates away from Python
internals. Jinja2 is imported only when a template is rendered.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Mapping
from typing import Any

from stackfile.errors import InvalidSpec, Location

__all__ = ["nest_dotted", "render_template", "template_context"]


def nest_dotted(values: Mapping[str, object]) -> dict[str, object]:
    """``{"a.b": 1, "c": 2}`` → ``{"a": {"b": 1}, "c": 2}``; clashes raise InvalidSpec."""
    out: dict[str, object] = {}
    for key in sorted(values):
        node = out
        *parents, leaf = key.split(".")
        for i, part in enumerate(parents):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise _clash(".".join(parents[: i + 1]), key)
            node = child
        if isinstance(node.get(leaf), dict) and not isinstance(values[key], dict):
            raise _clash(key, key)
        node[leaf] = values[key]
    return out


def _clash(prefix: str, key: str) -> InvalidSpec:
    return InvalidSpec(f"--set {key}: {prefix!r} is both a value and a group",
                       hint=f"use either --set {prefix}=... or --set {prefix}.<name>=..., not both")


def template_context(environ: Mapping[str, str], environment: str | None,
                     set_values: Mapping[str, object] | None = None) -> dict[str, object]:
    """The context the loader passes to :func:`render_template`."""
    context: dict[str, object] = dict(nest_dotted(set_values or {}))
    context["env"] = dict(environ)
    context["environment"] = environment
    return context


def render_template(text: str, *, path: str, context: Mapping[str, object]) -> str:
    """Render a stack template; syntax errors and undefined variables → InvalidSpec with file:line."""
    import jinja2
    import jinja2.sandbox

    directory = os.path.dirname(os.path.abspath(path))
    env = jinja2.sandbox.SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
        loader=jinja2.FileSystemLoader(directory),
    )
    flat = {k: v for k, v in context.items() if "." not in k}
    values: dict[str, Any] = {**flat, **nest_dotted({k: v for k, v in context.items() if "." in k})}
    try:
        return _render(env, text, path, values)
    except jinja2.TemplateSyntaxError as exc:
        raise InvalidSpec(f"template syntax error: {exc.message}",
                          location=Location(file=exc.filename or path, line=exc.lineno),
                          hint="check the {% %} / {{ }} tags near this line") from None
    except jinja2.UndefinedError as exc:
        raise InvalidSpec(f"template: {exc.message}", location=Location(file=path, line=_line(exc, path)),
                          hint=_undefined_hint(values)) from None
    except jinja2.TemplateError as exc:
        raise InvalidSpec(f"template error: {exc.message}",
                          location=Location(file=path, line=_line(exc, path))) from None
    except RecursionError:
        raise InvalidSpec("template recursion too deep", location=Location(file=path),
                          hint="check macros or includes that call themselves") from None
    except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
        where = Location(file=path, line=_line(exc, path))
        raise InvalidSpec(f"template error: {exc}", location=where) from None


def _render(env: Any, text: str, path: str, values: dict[str, Any]) -> str:
    code = env.compile(text, name=os.path.basename(path), filename=path)
    return str(env.template_class.from_code(env, code, env.make_globals(None)).render(values))


def _line(exc: BaseException, path: str) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == path:
            line = lineno
    return line


def _undefined_hint(values: Mapping[str, object]) -> str:
    names = ", ".join(sorted(values)) or "(none)"
    return f"defined names: {names}; pass values with --set key=value or use {{{{ x | default('...') }}}}"
