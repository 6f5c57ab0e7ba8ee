"""``stackfile [globals] image build ...`` without click: answered from the remembered plan when
every step would be a cache hit, else (with ``-q``) built by the command's own body.

A rebuild where nothing changed must cost about an interpreter start. :func:`parse` reads a strict
subset of the command line by hand (the global options of ``project_fast``, then ``image build``
with ``-q``, ``-t``, ``-f``, ``--target``, ``--build-arg``, ``--no-cache``, ``--pull`` and one
context); anything else, or any doubt, leaves the command to the full CLI. Parsing finishes
before anything runs. :func:`stackfile.build.fastpath.check` recomputes every cache key from the
remembered plan; on a hit this prints exactly what the full command prints for an all-hit build
(with ``-q`` the image id, else the step lines on a non-terminal stderr). On a miss with ``-q``
there is nothing to draw, so :func:`build_command` (the click command's body too) runs here under
``cli/boundary.py`` (the error messages and exit codes of every command), sparing click's
import; without ``-q`` the full CLI prints the steps.

The step and summary lines are made here (:func:`event_line`) for the full CLI's printer too.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping

from stackfile.cli.project_fast import _globals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["answer", "build_command", "event_line", "handle", "main", "parse"]

VALUED = {"-t": "tags", "--tag": "tags", "-f": "dockerfile", "--file": "dockerfile", "--target": "target",
          "--build-arg": "build_args"}
FLAGS = {"-q": "quiet", "--quiet": "quiet", "--pull": "pull", "--no-cache": "no_cache"}


def parse(argv: list[str], environ: dict[str, str]) -> dict[str, Any] | None:
    """The request of a plain ``image build`` command line, else None."""
    found = _globals(argv, "image")
    if found is None:
        return None
    values, at = found
    if argv[at + 1:at + 2] != ["build"]:
        return None
    for item in values.get("template_vars", []):  # click checks these before any command runs
        key, sep, _ = item.partition("=")
        if not key or not sep:
            return None
    req: dict[str, Any] = {"tags": [], "dockerfile": None, "target": None, "build_arg_items": [],
                           "quiet": False, "no_cache": False, "context": None}
    rest = argv[at + 2:]
    i = 0
    while i < len(rest):
        word = rest[i]
        name, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if name in FLAGS and not eq:
            req[FLAGS[name]] = True
        elif name in VALUED:
            if not eq:
                i += 1
                if i >= len(rest):
                    return None
                value = rest[i]
            if value.startswith("-") or not _store(req, VALUED[name], value):
                return None
        elif word.startswith("-") or req["context"] is not None:
            return None
        else:
            req["context"] = word
        i += 1
    if req["context"] is None:
        req["context"] = "."
    req["build_args"] = build_arg_values(req.pop("build_arg_items"), environ)
    req["root"] = values["root"][-1] if values.get("root") else None
    req["root"] = req["root"] or environ.get("STACKFILE_ROOT") or "/var/lib/stackfile"
    return req


def build_arg_values(items: Iterable[str], environ: Mapping[str, str]) -> dict[str, str]:
    """``--build-arg`` values as Docker reads them: ``KEY=VALUE``, or ``KEY`` alone for the value
    the environment has (left out when it has none)."""
    from stackfile.cli.kv import with_environment

    return with_environment(items, environ)


def _store(req: dict[str, Any], field: str, value: str) -> bool:
    if field == "tags":
        req["tags"].append(value)
    elif field == "build_args":
        if not value.partition("=")[0]:
            return False
        req["build_arg_items"].append(value)
    else:
        req[field] = value
    return True


def event_line(kind: str, get: Callable[[str, Any], Any], tty: bool) -> tuple[str, str] | None:
    """(text, rich style) of a build event, or None when it prints nothing."""
    step = get("step", "")
    where = f"[{get('image', '')} {get('index', 0)}/{get('total', 0)}]"
    if kind == "build.step.cached":
        return f"{where} CACHED {step}", "dim"
    if kind == "build.step.start" and tty:
        return f"{where} {step}", "bold"
    if kind == "build.step.done":
        return f"{where} {'done ' if tty else ''}{step}  {get('seconds', 0.0):.2f}s", "green"
    if kind == "build.output":
        return f"  | {get('line', '')}", "dim"
    if kind == "build.image":
        tags = ", ".join(get("tags", ())) or "(untagged)"
        return (f"built {tags} {get('image_id', '')[7:19]} in {get('seconds', 0):.2f}s "
                f"({get('ran_steps', 0)} ran, {get('cached_steps', 0)} cached)", "bold green")
    return None


def build_command(root: str, context: str, *, dockerfile: str | None, tags: tuple[str, ...],
                  target: str | None, build_args: dict[str, str], no_cache: bool, quiet: bool,
                  sink: Any = None) -> None:
    """``image build``'s body (the click command's too): build, and with ``quiet`` print the id."""
    from stackfile.engine.images import build_dockerfile
    from stackfile.events import discard
    from stackfile.store.paths import StorePaths

    img = build_dockerfile(StorePaths.at(root), context, dockerfile=dockerfile, tags=tags, target=target,
                           build_args=build_args, no_cache=no_cache, sink=discard if quiet else sink)
    if quiet:
        sys.stdout.write(img.id + "\n")
        sys.stdout.flush()


def answer(argv: list[str], environ: dict[str, str]) -> bool:
    """True when the build was answered from its remembered plan (and the output printed)."""
    req = _request(argv, environ)
    return req is not None and not req["no_cache"] and _answer(req)


def handle(argv: list[str], environ: dict[str, str]) -> int | None:
    """The exit code of an ``image build`` handled here, or None (nothing ran: use the full CLI).

    Answered from the remembered plan when every step would hit; else, with ``-q`` (nothing to
    draw), built here by the command's own body under ``cli/main.py``'s error boundary."""
    req = _request(argv, environ)
    if req is None:
        return None
    if not req["no_cache"] and _answer(req):
        return 0
    if not req["quiet"]:
        return None  # the full CLI prints the steps (rich on a terminal)
    from stackfile.cli.boundary import boundary

    return boundary(lambda: _build(req), environ)


def main(argv: list[str], environ: dict[str, str]) -> None:
    """Exit with the code of an ``image build`` handled here; return when the full CLI must decide.

    The cyclic garbage collector is off meanwhile (as for ``container run``): importing the
    builder triggered collections worth milliseconds in a process that makes little garbage."""
    import gc

    gc.disable()
    code = handle(argv, environ)
    if code is not None:
        from stackfile.cli.container_fast import done

        sys.exit(done(code))
    gc.enable()


def _request(argv: list[str], environ: dict[str, str]) -> dict[str, Any] | None:
    try:
        return parse(argv, environ)
    except Exception:  # any doubt: the full CLI decides, and reports errors properly
        return None


def _build(req: dict[str, Any]) -> int:
    build_command(req["root"], req["context"], dockerfile=req["dockerfile"], tags=tuple(req["tags"]),
                  target=req["target"], build_args=req["build_args"], no_cache=req["no_cache"], quiet=True)
    return 0


def _answer(req: dict[str, Any]) -> bool:
    start = time.perf_counter()
    try:
        quiet = req["quiet"]
        if not quiet and sys.stderr.isatty():
            return False  # the full CLI draws with rich
        from stackfile.build import fastpath

        key = fastpath.request_key(os.getcwd(), req["context"], req["dockerfile"], req["build_args"],
                                   req["target"])
        root = req["root"] if os.path.isabs(req["root"]) else os.path.join(os.getcwd(), req["root"])
        hit = fastpath.check(root, key, tuple(req["tags"]))  # the root as Path.absolute() names it
        if hit is None:
            return False
        if quiet:
            out, err = hit.image_id + "\n", ""
        else:
            out, err = "", _lines(hit, req["tags"], time.perf_counter() - start)
            if "\x1b" in err:
                return False  # click would strip escape sequences: let it
    except Exception:  # any doubt: the full CLI decides, and reports errors properly
        return False
    try:
        if out:
            sys.stdout.write(out)
            sys.stdout.flush()
        if err:
            sys.stderr.write(err)
            sys.stderr.flush()
    except BrokenPipeError:  # as the full CLI: a closed pipe is not an error
        pass
    return True


def _lines(hit: Any, tags: list[str], seconds: float) -> str:
    name = tags[0] if tags else os.path.basename(hit.dockerfile)
    lines = []
    for stage, index, total, text in hit.steps:
        event = {"image": name, "stage": stage, "index": index, "total": total, "step": text}
        lines.append(event_line("build.step.cached", event.get, False))
    done = {"image_id": hit.image_id, "tags": tuple(tags), "seconds": seconds, "cached_steps": len(hit.steps)}
    lines.append(event_line("build.image", done.get, False))
    return "".join(f"{line[0]}\n" for line in lines if line is not None)
