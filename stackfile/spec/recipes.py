"""``images:`` recipes and services' ``build:`` → :class:`~stackfile.spec.recipe.Recipe`.

An ``images.<name>`` entry is either ``from`` + ``steps`` or a ``dockerfile`` in its ``context``.
Top-level ``args``, ``env`` and ``workdir`` apply before the steps (so RUN and COPY see them);
``user``, ``expose``, ``volumes``, ``labels``, ``healthcheck``, ``stopsignal``, ``entrypoint`` and
``cmd`` are image settings applied after them. Every step keeps its file and line when the loader
passes its position index (``marks``: key path tuple → (line, column)). Pure apart from reading the
Dockerfile and ignore file of a context; no pydantic, jinja2 or yaml (the builder imports this).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from stackfile.errors import InvalidSpec, Location, NotFound
from stackfile.spec.dockerfile import expand_ports, parse_dockerfile, parse_duration_text
from stackfile.spec.ignore import IgnoreRules
from stackfile.spec.recipe import (
    Arg,
    CacheMount,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Recipe,
    Run,
    Shell,
    Source,
    Stage,
    Step,
    StopSignal,
    User,
    Volume,
    Workdir,
)

__all__ = ["IMAGE_KEYS", "STEP_KINDS", "image_dependencies", "recipe_from_build", "recipe_from_image_def",
           "recipes_from_stack"]

Marks = Mapping[tuple[str | int, ...], tuple[int, int]]
IMAGE_KEYS = ("args", "cmd", "context", "dockerfile", "entrypoint", "env", "expose", "from", "healthcheck",
              "ignore", "labels", "steps", "stopsignal", "target", "user", "volumes", "workdir")
_PATH_BASES = ("oci-archive:", "docker-archive:", "oci:")


class _Ctx:
    """Where we are: for key paths in errors and Source lines in steps."""

    def __init__(self, name: str, marks: Marks | None, file: str | None) -> None:
        self.name, self.marks, self.file = name, marks or {}, file

    def path(self, *keys: str | int) -> str:
        out = f"images.{self.name}"
        for key in keys:
            out += f"[{key}]" if isinstance(key, int) else f".{key}"
        return out

    def line(self, *keys: str | int) -> int | None:
        mark = self.marks.get(("images", self.name, *keys))
        return mark[0] if mark else None

    def source(self, *keys: str | int) -> Source:
        return Source(self.file, self.line(*keys))

    def error(self, keys: tuple[str | int, ...], message: str, hint: str | None = None) -> InvalidSpec:
        mark = self.marks.get(("images", self.name, *keys))
        where = Location(self.file, mark[0] if mark else None, mark[1] if mark else None, self.path(*keys))
        return InvalidSpec(message, location=where, hint=hint)


# ------------------------------------------------------------------------------------------ values


def _text(ctx: _Ctx, keys: tuple[str | int, ...], value: Any, what: str = "a string") -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ctx.error(keys, f"must be {what}", f"got {type(value).__name__}")
    return str(value)


def _texts(ctx: _Ctx, keys: tuple[str | int, ...], value: Any) -> tuple[str, ...]:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return (str(value),)
    if not isinstance(value, list) or not value:
        raise ctx.error(keys, "must be a string or a non-empty list of strings")
    return tuple(_text(ctx, (*keys, i), v) for i, v in enumerate(value))


def _pairs(ctx: _Ctx, keys: tuple[str | int, ...], value: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(value, list):
        value = dict(str(v).partition("=")[::2] for v in value)
    if not isinstance(value, Mapping):
        raise ctx.error(keys, "must be a mapping of names to values", "e.g. {KEY: value}")
    return tuple((str(k), "" if v is None else _scalar(ctx, (*keys, str(k)), v)) for k, v in value.items())


def _scalar(ctx: _Ctx, keys: tuple[str | int, ...], value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text(ctx, keys, value)


def _ports(ctx: _Ctx, keys: tuple[str | int, ...], value: Any) -> tuple[str, ...]:
    try:
        return expand_ports(_texts(ctx, keys, value))
    except ValueError as exc:
        raise ctx.error(keys, str(exc), "ports such as 80, 53/udp or 8000-8010/tcp") from None


def _command(ctx: _Ctx, keys: tuple[str | int, ...], value: Any) -> tuple[tuple[str, ...], bool]:
    """A string is shell form; a list is exec form."""
    if isinstance(value, str):
        return (value,), True
    if not isinstance(value, list):
        raise ctx.error(keys, "must be a string (shell form) or a list (exec form)",
                        f"got {type(value).__name__}")
    return _texts(ctx, keys, value), False


def _seconds(ctx: _Ctx, keys: tuple[str | int, ...], value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return parse_duration_text(_text(ctx, keys, value))
    except ValueError:
        raise ctx.error(keys, f"invalid duration {value!r}", "e.g. 30s, 1m30s, 500ms") from None


# ------------------------------------------------------------------------------------------ steps

StepParser = Callable[[_Ctx, tuple[str | int, ...], Mapping[str, Any]], Step]


def _run(ctx: _Ctx, k: tuple[str | int, ...], step: Mapping[str, Any]) -> Step:
    command, shell = _command(ctx, (*k, "run"), step["run"])
    network = step.get("network", "default")
    if network not in ("default", "none", "host"):
        raise ctx.error((*k, "network"), f"invalid network {network!r}", "default, none or host")
    caches = step.get("cache") or []
    if not isinstance(caches, list):
        caches = [caches]
    mounts = tuple(_cache(ctx, (*k, "cache", i), c) for i, c in enumerate(caches))
    return Run(command, shell, mounts, network, ctx.source(*k))


def _cache(ctx: _Ctx, k: tuple[str | int, ...], value: Any) -> CacheMount:
    if isinstance(value, str):
        return CacheMount(target=value)
    if not isinstance(value, Mapping) or "target" not in value:
        raise ctx.error(k, "a cache is a target path or {target, id?, sharing?, mode?, uid?, gid?}")
    sharing = value.get("sharing", "shared")
    if sharing not in ("shared", "private", "locked"):
        raise ctx.error((*k, "sharing"), f"invalid sharing {sharing!r}", "shared, private or locked")
    mode = value.get("mode")
    return CacheMount(target=str(value["target"]), id=value.get("id"), sharing=sharing,
                      mode=int(str(mode), 8) if mode is not None else None,
                      uid=value.get("uid"), gid=value.get("gid"))


def _copy(ctx: _Ctx, k: tuple[str | int, ...], step: Mapping[str, Any], add: bool = False) -> Step:
    kind = "add" if add else "copy"
    if "to" not in step:
        raise ctx.error(k, f"a {kind} step needs 'to'", f"- {kind}: src\n  to: /dest")
    chmod = step.get("chmod")
    chmod_text = None if chmod is None else (format(chmod, "o") if isinstance(chmod, int) else str(chmod))
    if chmod_text is not None and not (chmod_text.isdigit() and set(chmod_text) <= set("01234567")):
        raise ctx.error((*k, "chmod"), f"invalid chmod {chmod!r}", "octal text such as '755' or '0644'")
    return Copy(
        sources=_texts(ctx, (*k, kind), step[kind]), dest=_text(ctx, (*k, "to"), step["to"]),
        from_=None if step.get("from") is None else _text(ctx, (*k, "from"), step["from"]),
        chown=None if step.get("chown") is None else _text(ctx, (*k, "chown"), step["chown"]),
        chmod=chmod_text, add=add, link=bool(step.get("link", False)),
        exclude=_texts(ctx, (*k, "exclude"), step["exclude"]) if step.get("exclude") else (),
        source=ctx.source(*k),
    )


def _healthcheck(ctx: _Ctx, k: tuple[str | int, ...], value: Any) -> Healthcheck:
    if not isinstance(value, Mapping):
        raise ctx.error(k, "healthcheck must be a mapping", "{test: [CMD, ...], interval: 30s, retries: 3}")
    test = value.get("test", ())
    test = ("CMD-SHELL", test) if isinstance(test, str) else _texts(ctx, (*k, "test"), test) if test else ()
    disable = bool(value.get("disable", False)) or tuple(test[:1]) == ("NONE",)
    retries = value.get("retries")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int)):
        raise ctx.error((*k, "retries"), "retries must be a whole number")
    return Healthcheck(
        test=("NONE",) if disable else tuple(test),
        interval=_seconds(ctx, (*k, "interval"), value.get("interval")),
        timeout=_seconds(ctx, (*k, "timeout"), value.get("timeout")),
        start_period=_seconds(ctx, (*k, "start_period"), value.get("start_period")),
        start_interval=_seconds(ctx, (*k, "start_interval"), value.get("start_interval")),
        retries=retries, disable=disable, source=ctx.source(*k),
    )


def _arg(ctx: _Ctx, k: tuple[str | int, ...], step: Mapping[str, Any]) -> Step:
    default = step.get("default")
    return Arg(_text(ctx, (*k, "arg"), step["arg"]),
               None if default is None else _scalar(ctx, (*k, "default"), default), ctx.source(*k))


ValueParser = Callable[[_Ctx, tuple[str | int, ...], Any, Source], Step]

_VALUE_STEPS: dict[str, ValueParser] = {
    "env": lambda c, k, v, src: Env(_pairs(c, k, v), src),
    "workdir": lambda c, k, v, src: Workdir(_text(c, k, v), src),
    "user": lambda c, k, v, src: User(_text(c, k, v), src),
    "shell": lambda c, k, v, src: Shell(_texts(c, k, v), src),
    "label": lambda c, k, v, src: Label(_pairs(c, k, v), src),
    "expose": lambda c, k, v, src: Expose(_ports(c, k, v), src),
    "volume": lambda c, k, v, src: Volume(_texts(c, k, v), src),
    "healthcheck": lambda c, k, v, src: _healthcheck(c, k, v),
    "cmd": lambda c, k, v, src: Cmd(*_command(c, k, v), src),
    "entrypoint": lambda c, k, v, src: Entrypoint(*_command(c, k, v), src),
    "stopsignal": lambda c, k, v, src: StopSignal(_text(c, k, v), src),
}


def _value_step(kind: str) -> StepParser:
    return lambda c, k, s: _VALUE_STEPS[kind](c, (*k, kind), s[kind], c.source(*k))


_STEPS: dict[str, tuple[StepParser, tuple[str, ...]]] = {
    "run": (_run, ("cache", "network")),
    "copy": (_copy, ("to", "chown", "chmod", "from", "link", "exclude")),
    "add": (lambda c, k, s: _copy(c, k, s, add=True), ("to", "chown", "chmod", "link", "exclude")),
    "arg": (_arg, ("default",)),
    **{kind: (_value_step(kind), ()) for kind in _VALUE_STEPS},
}
STEP_KINDS = tuple(sorted(_STEPS))


def _step(ctx: _Ctx, index: int, step: Any) -> Step:
    keys: tuple[str | int, ...] = ("steps", index)
    valid = ", ".join(STEP_KINDS)
    if not isinstance(step, Mapping):
        raise ctx.error(keys, "a step must be a mapping with one step kind", f"step kinds: {valid}")
    primary = [key for key in step if key in _STEPS]
    if len(primary) != 1:
        found = ", ".join(str(k) for k in step) or "nothing"
        close = difflib.get_close_matches(str(next(iter(step), "")), STEP_KINDS, n=1)
        hint = f"did you mean {close[0]!r}? " if close and not primary else ""
        raise ctx.error(keys, f"a step needs exactly one step kind, found: {found}",
                        f"{hint}step kinds: {valid}")
    kind = primary[0]
    parser, modifiers = _STEPS[kind]
    for key in step:
        if key != kind and key not in modifiers:
            allowed = ", ".join(modifiers) or "none"
            raise ctx.error((*keys, str(key)), f"unknown key {key!r} in a {kind} step",
                            f"{kind} options: {allowed}")
    return parser(ctx, keys, step)


# ------------------------------------------------------------------------------------------ images


def _base_ref(ref: str, project_dir: str) -> str:
    for prefix in _PATH_BASES:
        if ref.startswith(prefix):
            return prefix + os.path.normpath(os.path.join(project_dir, ref[len(prefix):]))
    return ref


def _context(definition: Mapping[str, Any], project_dir: str) -> str:
    context = definition.get("context") or "."
    return os.path.normpath(os.path.join(project_dir, str(context)))


def _prefix_steps(ctx: _Ctx, d: Mapping[str, Any]) -> list[Step]:
    out: list[Step] = []
    if d.get("args") is not None:
        out += [Arg(name, value, ctx.source("args")) for name, value in _pairs(ctx, ("args",), d["args"])]
    if d.get("env") is not None:
        out.append(Env(_pairs(ctx, ("env",), d["env"]), ctx.source("env")))
    if d.get("workdir") is not None:
        out.append(Workdir(_text(ctx, ("workdir",), d["workdir"]), ctx.source("workdir")))
    return out


def _suffix_steps(ctx: _Ctx, d: Mapping[str, Any]) -> list[Step]:
    out: list[Step] = []
    if d.get("user") is not None:
        out.append(User(_text(ctx, ("user",), d["user"]), ctx.source("user")))
    if d.get("expose") is not None:
        out.append(Expose(_ports(ctx, ("expose",), d["expose"]), ctx.source("expose")))
    if d.get("volumes") is not None:
        out.append(Volume(_texts(ctx, ("volumes",), d["volumes"]), ctx.source("volumes")))
    if d.get("labels") is not None:
        out.append(Label(_pairs(ctx, ("labels",), d["labels"]), ctx.source("labels")))
    if d.get("healthcheck") is not None:
        out.append(_healthcheck(ctx, ("healthcheck",), d["healthcheck"]))
    if d.get("stopsignal") is not None:
        out.append(StopSignal(_text(ctx, ("stopsignal",), d["stopsignal"]), ctx.source("stopsignal")))
    if d.get("entrypoint") is not None:
        out.append(Entrypoint(*_command(ctx, ("entrypoint",), d["entrypoint"]), ctx.source("entrypoint")))
    if d.get("cmd") is not None:
        out.append(Cmd(*_command(ctx, ("cmd",), d["cmd"]), ctx.source("cmd")))
    return out


def _check_keys(ctx: _Ctx, definition: Any) -> None:
    if not isinstance(definition, Mapping):
        raise ctx.error((), "an image must be a mapping", "e.g. {from: busybox, steps: [...]}")
    for key in definition:
        if key not in IMAGE_KEYS and not str(key).startswith("x-"):
            close = difflib.get_close_matches(str(key), IMAGE_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ctx.error((str(key),), f"unknown key {key!r}", f"{hint}valid keys: {', '.join(IMAGE_KEYS)}")
    has_steps, has_file = definition.get("steps") is not None, definition.get("dockerfile") is not None
    if has_file and (has_steps or definition.get("from") is not None):
        raise ctx.error(("dockerfile",), "use either dockerfile or from/steps, not both")
    if not has_file and not definition.get("from"):
        raise ctx.error((), "an image needs 'from' (or a 'dockerfile')",
                        "from: scratch | busybox | host | debootstrap:<suite> | oci-archive:<path> | <image>")
    if has_steps and not isinstance(definition["steps"], list):
        raise ctx.error(("steps",), "steps must be a list", "steps: [{run: ...}, {copy: ..., to: ...}]")


def _ignore_patterns(context: str, extra: Any, ctx: _Ctx, dockerfile: str | None = None) -> tuple[str, ...]:
    rules = IgnoreRules.for_context(context, dockerfile)
    extra_patterns = _texts(ctx, ("ignore",), extra) if extra else ()
    IgnoreRules.from_patterns(extra_patterns)  # validates
    return rules.patterns + extra_patterns


def recipe_from_image_def(name: str, definition: Mapping[str, Any], *, project_dir: str,
                          marks: Marks | None = None, file: str | None = None) -> Recipe:
    """Turn ``images.<name>`` into a Recipe; bad input raises InvalidSpec naming the key path."""
    ctx = _Ctx(name, marks, file)
    _check_keys(ctx, definition)
    context = _context(definition, project_dir)
    args = tuple((k, v) for k, v in _pairs(ctx, ("args",), definition.get("args") or {}))
    if definition.get("dockerfile") is not None:
        dockerfile = os.path.join(context, _text(ctx, ("dockerfile",), definition["dockerfile"]))
        recipe = _load_dockerfile(dockerfile, dict(args), definition.get("target"), context)
        return _with_settings(recipe, ctx, definition, context, dockerfile)
    base = _base_ref(_text(ctx, ("from",), definition["from"]), project_dir)
    stage = Stage(
        base=From(base, source=ctx.source("from")),
        steps=(*_prefix_steps(ctx, definition),
               *(_step(ctx, i, s) for i, s in enumerate(definition.get("steps") or [])),
               *_suffix_steps(ctx, definition)),
        name=name,
    )
    return Recipe(stages=(stage,), context=context, source=ctx.source(),
                  ignore_patterns=_ignore_patterns(context, definition.get("ignore"), ctx), args=args)


def _with_settings(recipe: Recipe, ctx: _Ctx, d: Mapping[str, Any], context: str, dockerfile: str) -> Recipe:
    target = recipe.target_stage()
    extra = [s for s in _prefix_steps(ctx, d) if not isinstance(s, Arg)] + _suffix_steps(ctx, d)
    stages = tuple(replace(s, steps=s.steps + tuple(extra)) if s is target else s for s in recipe.stages)
    ignore = _ignore_patterns(context, d.get("ignore"), ctx, dockerfile)
    return replace(recipe, stages=stages, ignore_patterns=ignore)


def _load_dockerfile(path: str, args: Mapping[str, str], target: Any, context: str) -> Recipe:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"Dockerfile {path} not found", location=Location(file=path),
                       hint="check build.context and build.dockerfile") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSpec(f"cannot read Dockerfile {path}: {exc}", location=Location(file=path)) from None
    return parse_dockerfile(text, path=path, build_args=args, target=target, context=context)


def recipes_from_stack(images: Mapping[str, Any] | None, project_dir: str, *, marks: Marks | None = None,
                       file: str | None = None) -> dict[str, Recipe]:
    """Every ``images:`` entry as a Recipe, in name order."""
    images = images or {}
    return {name: recipe_from_image_def(name, images[name], project_dir=project_dir, marks=marks, file=file)
            for name in sorted(images)}


def image_dependencies(images: Mapping[str, Any] | None) -> dict[str, set[str]]:
    """``{image: {other images it is built from}}`` via ``from:`` and ``copy``'s ``from:``.

    Dockerfile-based images are not opened here (their FROM lines are checked by the builder)."""
    images = images or {}
    names = set(images)
    deps: dict[str, set[str]] = {}
    for name in sorted(names):
        definition = images[name]
        refs: set[str] = set()
        if isinstance(definition, Mapping):
            refs.add(str(definition.get("from")))
            for step in definition.get("steps") or []:
                if isinstance(step, Mapping) and step.get("from") is not None:
                    refs.add(str(step["from"]))
        deps[name] = refs & names
    return deps


def recipe_from_build(build: Mapping[str, Any], *, service: str, project_dir: str) -> Recipe:
    """A service's canonical ``build:`` mapping → Recipe (reads the Dockerfile and ignore file).

    Handles ``context``, ``dockerfile``, ``dockerfile_inline``, ``args`` (None values dropped),
    ``target`` and ``labels`` (kept on ``Recipe.labels``)."""
    context = os.path.normpath(os.path.join(project_dir, str(build.get("context") or ".")))
    args = {str(k): str(v) for k, v in (build.get("args") or {}).items() if v is not None}
    target = build.get("target")
    if build.get("dockerfile_inline") is not None:
        path = f"services.{service}.build.dockerfile_inline"
        recipe = parse_dockerfile(str(build["dockerfile_inline"]), path=path, build_args=args, target=target,
                                  context=context)
        dockerfile = None
    else:
        dockerfile = os.path.join(context, str(build.get("dockerfile") or "Dockerfile"))
        recipe = _load_dockerfile(dockerfile, args, target, context)
    labels = tuple(sorted((str(k), str(v)) for k, v in (build.get("labels") or {}).items()))
    ignore = IgnoreRules.for_context(context, dockerfile).patterns
    return replace(recipe, labels=labels, ignore_patterns=ignore)
