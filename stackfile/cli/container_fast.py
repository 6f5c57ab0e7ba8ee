"""``stackfile [--root DIR] container run [FLAGS] IMAGE [COMMAND...]`` answered without click.

``container run --rm busybox true`` should cost little more than an interpreter start and the
container itself. :func:`parse` reads a strict subset of the command line by hand (the global
``--root``, then ``container run`` with the flags in :data:`VALUE_FLAGS` / :data:`BOOL_FLAGS`, the
image and the command) into the same :class:`~stackfile.engine.containers.RunOptions` the click
command builds; anything else, or any doubt, returns None and the full CLI handles the command.

Parsing finishes before anything runs: once a container may have started there is no falling
back (it would run twice). :func:`run_command` is the body of the click command too, and
:func:`~stackfile.cli.boundary.boundary` turns errors into ``cli/main.py``'s messages and exit codes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

from stackfile.cli.term import echo

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import (see stackfile/record.py)
if TYPE_CHECKING:
    from typing import Any

    from stackfile.engine.container_options import RunOptions

__all__ = ["BOOL_FLAGS", "MULTI_FLAGS", "VALUE_FLAGS", "done", "handle", "main", "parse",
           "run_command"]

# option -> (RunOptions field, converter); a converter that raises means "let click report it"
_STR: Callable[[str], Any] = str
VALUE_FLAGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "--name": ("name", _STR), "-m": ("memory", _STR), "--memory": ("memory", _STR),
    "--cpus": ("cpus", float), "--pids-limit": ("pids_limit", int), "--hostname": ("hostname", _STR),
    "-u": ("user", _STR), "--user": ("user", _STR), "-w": ("workdir", _STR), "--workdir": ("workdir", _STR),
    "--restart": ("restart", _STR), "--entrypoint": ("entrypoint", _STR), "--shm-size": ("shm_size", _STR),
    "--memory-swap": ("memory_swap", _STR), "--cpu-shares": ("cpu_shares", int),
    "--stop-signal": ("stop_signal", _STR), "--stop-timeout": ("stop_timeout", float),
}
MULTI_FLAGS: dict[str, str] = {
    "-e": "env", "--env": "env", "--env-file": "env_files", "--cap-add": "cap_add", "--cap-drop": "cap_drop",
    "-l": "labels", "--label": "labels", "-v": "volumes", "--volume": "volumes", "--tmpfs": "tmpfs",
    "--sysctl": "sysctls", "--ulimit": "ulimits", "--security-opt": "security_opt",
}
BOOL_FLAGS: dict[str, str] = {
    "--rm": "rm", "-d": "detach", "--detach": "detach", "-i": "interactive", "--interactive": "interactive",
    "-t": "tty", "--tty": "tty", "--init": "init", "--read-only": "read_only", "--privileged": "privileged",
}
_NETWORKS = ("none", "host")
DEFAULT_ROOT = "/var/lib/stackfile"


def _option(args: list[str], i: int, flags: dict[str, Any]) -> int | None:
    """Apply the option at ``args[i]`` to ``flags``; the index after it, or None when unsure."""
    arg = args[i]
    name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
    if name in BOOL_FLAGS:
        if eq:
            return None  # click: "Option '--rm' does not take a value"
        flags[BOOL_FLAGS[name]] = True
        return i + 1
    if not arg.startswith("--") and len(arg) > 2 and all(f"-{ch}" in BOOL_FLAGS for ch in arg[1:]):
        for ch in arg[1:]:  # -dit: click reads grouped short flags one by one
            flags[BOOL_FLAGS[f"-{ch}"]] = True
        return i + 1
    if name not in VALUE_FLAGS and name not in MULTI_FLAGS and name != "--network":
        return None
    if not eq:
        i += 1
        if i >= len(args):
            return None
        value = args[i]
    if name in MULTI_FLAGS:
        key = MULTI_FLAGS[name]
        flags[key] = (*flags.get(key, ()), value)
    elif name == "--network":
        if value not in _NETWORKS:
            return None
        flags["network"] = value
    else:
        key, convert = VALUE_FLAGS[name]
        try:
            flags[key] = convert(value)
        except ValueError:
            return None
    return i + 1


def parse(argv: list[str], environ: Mapping[str, str]) -> tuple[str, RunOptions] | None:
    """(store root, the RunOptions the click command would build) for a plain ``container run``,
    else None."""
    from stackfile.cli.project_fast import _globals

    found = _globals(argv, "container")
    if found is None:
        return None
    values, at = found
    if set(values) - {"root"} or argv[at + 1:at + 2] != ["run"]:
        return None
    args = argv[at + 2:]
    flags: dict[str, Any] = {}
    i = 0
    while i < len(args) and args[i].startswith("-"):
        nxt = _option(args, i, flags)
        if nxt is None:
            return None
        i = nxt
    if i >= len(args):
        return None  # no image: click prints the usage error
    from stackfile.engine.container_options import RunOptions

    root = values["root"][-1] if "root" in values else ""
    return (root or environ.get("STACKFILE_ROOT") or DEFAULT_ROOT,
            RunOptions(image=args[i], command=tuple(args[i + 1:]), **flags))


def run_command(root: str, opts: RunOptions, environ: Mapping[str, str]) -> int:
    """``container run``'s body (the click command's too): print the id of a detached container,
    or return the foreground container's exit code; a start failure exits 125/126/127."""
    from stackfile.engine import containers as engine
    from stackfile.store.paths import StorePaths

    try:
        result = engine.run(StorePaths.at(root), opts, environ)
    except engine.StartFailed as exc:
        echo(f"error: {exc.render()}", err=True)
        return exc.code
    if result.exit_code is None:
        echo(result.id)
        return 0
    return result.exit_code


def done(code: int) -> int:
    """Exit at once when we are the ``stackfile`` program: nothing is left to clean up, and
    interpreter finalisation would add milliseconds to every ``container run``. In-process callers
    (tests, embedding) just get the code back."""
    program = sys.argv[0] if sys.argv else ""
    if os.path.basename(program) == "stackfile" or program.endswith(os.path.join("stackfile", "__main__.py")):
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            pass
        os._exit(code)
    return code


def handle(argv: list[str], environ: Mapping[str, str]) -> int | None:
    """The exit code of a ``container run`` handled here, or None (nothing ran: use the full CLI)."""
    try:
        parsed = parse(argv, environ)
    except Exception:  # any doubt: the full CLI decides, and reports errors properly
        parsed = None
    if parsed is None:
        return None
    root, opts = parsed
    from stackfile.cli.boundary import boundary

    return boundary(lambda: run_command(root, opts, environ), environ)


def main(argv: list[str], environ: Mapping[str, str]) -> None:
    """Exit with the code of a ``container run`` handled here; return when the full CLI must decide.

    The cyclic garbage collector is off meanwhile: this process lives for one container and
    makes little cyclic garbage, but importing the modules it needs triggered ~20 collections
    (~3 ms). A command left to the full CLI gets it back on."""
    import gc

    gc.disable()
    code = handle(argv, environ)
    if code is not None:
        sys.exit(done(code))
    gc.enable()
