"""The console entry point: ``stackfile [globals] up -d [SERVICE...]`` answered before click.

``up -d`` on a converged project must cost about an interpreter start. This entry point parses a
strict subset of the command line by hand (global options with values, then ``up`` with only
``-d``/``--detach`` and service names), builds the same options ``cli/main.py`` would, and asks
:func:`stackfile.engine.project_fast.unchanged`; when that misses, the engine's ``up`` runs here
with the same rendering (click costs ~14 ms to import). Anything else, or any doubt, goes to the full
CLI (``stackfile.cli.main:main``), which imports click and handles errors; a wrong guess here can
only cost speed, because the cache key is made from the same fields either way.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

TYPE_CHECKING = False  # not typing's: importing typing costs ~3 ms of every fast command
if TYPE_CHECKING:
    from typing import Any

GLOBALS = {"-f": "files", "--file": "files", "-p": "project_name", "--project-name": "project_name",
           "--project-directory": "project_directory", "--env-file": "env_files", "--profile": "profiles",
           "--env": "environment_name", "--set": "template_vars", "--root": "root"}
DETACH = ("-d", "--detach")


def _globals(argv: list[str], command: str = "up") -> tuple[dict[str, list[str]], int] | None:
    """(global option values, index of ``command``) when ``argv`` is globals then ``command``, else None."""
    values: dict[str, list[str]] = {}
    i = 0
    while i < len(argv) and argv[i] != command:
        name, eq, value = argv[i].partition("=") if argv[i].startswith("--") else (argv[i], "", "")
        key = GLOBALS.get(name)
        if key is None:
            return None
        if not eq:
            i += 1
            if i >= len(argv):
                return None
            value = argv[i]
        values.setdefault(key, []).append(value)
        i += 1
    return (values, i) if i < len(argv) else None


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def parse(argv: list[str], environ: dict[str, str]) -> tuple[Any, tuple[str, ...]] | None:
    """(the options ``cli/main.py`` would build, services) for a plain ``up -d``, else None."""
    found = _globals(argv)
    if found is None:
        return None
    values, at = found
    rest = argv[at + 1:]
    if not any(a in DETACH for a in rest) or any(a.startswith("-") and a not in DETACH for a in rest):
        return None
    opts = options(values, environ)
    return (opts, tuple(a for a in rest if a not in DETACH)) if opts is not None else None


def options(values: dict[str, list[str]], environ: dict[str, str]) -> Any:
    """The global options ``cli/main.py`` builds from the same values, or None when unsure."""
    tvars = {}
    for item in values.get("template_vars", []):
        key, sep, value = item.partition("=")
        if not sep or not key:
            return None
        tvars[key] = value
    last = {k: v[-1] for k, v in values.items()}
    files = values.get("files") or [f for f in environ.get("COMPOSE_FILE", "").split(
        environ.get("COMPOSE_PATH_SEPARATOR", os.pathsep)) if f]
    opts = SimpleNamespace(
        files=files, project_name=last.get("project_name"), project_directory=last.get("project_directory"),
        env_files=values.get("env_files") or _split(environ.get("COMPOSE_ENV_FILES")),
        profiles=[p for item in values.get("profiles", []) for p in item.split(",") if p]
        or _split(environ.get("COMPOSE_PROFILES")),
        environment_name=last.get("environment_name") or environ.get("STACKFILE_ENV") or None,
        template_vars=tvars, root=last.get("root") or environ.get("STACKFILE_ROOT") or "/var/lib/stackfile",
        environ=environ, json_output=False)
    return opts


FORMATS = {(): "yaml", ("--format", "yaml"): "yaml", ("--format", "json"): "json",
           ("--format=yaml",): "yaml", ("--format=json",): "json"}


def parse_config(argv: list[str], environ: dict[str, str]) -> tuple[Any, str] | None:
    """(global options, format) for a plain ``config [--format yaml|json]``, else None."""
    found = _globals(argv, "config")
    if found is None:
        return None
    values, at = found
    fmt = FORMATS.get(tuple(argv[at + 1:]))
    opts = options(values, environ) if fmt else None
    return (opts, fmt) if opts is not None and fmt else None


def config(opts: Any, fmt: str) -> int:
    """``config``'s body for a plain ``config``: the same load, warnings and text as the click
    command, without importing click."""
    from stackfile.engine.config import load
    from stackfile.engine.render import config_text

    project = load(opts)
    for warning in project.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    text = config_text(project.config, fmt)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
    return 0


def _flags(services: tuple[str, ...]) -> dict[str, Any]:
    """The plan flags of a plain ``up -d`` (the click command's defaults)."""
    return {"services": services, "no_deps": False, "force_recreate": False, "no_recreate": False,
            "remove_orphans": False, "build": False, "no_build": False, "no_start": False, "scale": {}}


def noop(argv: list[str], environ: dict[str, str]) -> bool:
    """True when ``argv`` is an ``up -d`` the fast path proves would change nothing."""
    parsed = parse(argv, environ)
    return parsed is not None and _unchanged(*parsed) is not None


def _unchanged(opts: Any, services: tuple[str, ...]) -> list[str] | None:
    """The running containers of an ``up -d`` that would change nothing, or None."""
    from stackfile.engine.project_fast import unchanged_entry

    entry = unchanged_entry(opts, _flags(services))
    return [c["name"] for c in entry["containers"]] if entry is not None else None


def report_running(names: list[str]) -> None:
    """A no-op ``up -d`` says each container is ``Running``, as Compose does (without importing
    project_render: it imports typing)."""
    from stackfile.cli.term import echo, style

    for name in sorted(names):
        echo(f" {style('✔', fg='green')} Container {name:<30} Running", err=True)


def up_detached(opts: Any, services: tuple[str, ...]) -> int:
    """A plain ``up -d`` that is not a no-op: the click command's engine call and rendering,
    without importing click (~14 ms)."""
    from stackfile.cli.project_render import EventPrinter
    from stackfile.engine.project import UpOptions, up
    from stackfile.reconcile.planner import PlanOptions

    up(opts, UpOptions(plan=PlanOptions(**_flags(services))), sink=EventPrinter())
    return 0


def remote(argv: list[str], environ: dict[str, str]) -> tuple[str, list[str]] | None:
    """(the daemon's address, argv without ``-H``) when the command goes to a daemon
    (``STACKFILE_HOST`` or a leading ``-H``/``--host``), else None: no in-process fast path applies."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        if argv[i] in ("-H", "--host") and i + 1 < len(argv):
            return argv[i + 1], argv[:i] + argv[i + 2:]
        if argv[i].startswith("--host="):
            return argv[i].partition("=")[2], argv[:i] + argv[i + 1:]
        i += 1 if "=" in argv[i] or argv[i] not in GLOBALS else 2
    host = environ.get("STACKFILE_HOST")
    return (host, argv) if host else None


def remote_run(host: str, argv: list[str], environ: dict[str, str]) -> None:
    """Exit with the code of a plain ``container run`` sent to the daemon at ``host`` without
    importing click; return when the full CLI must decide."""
    from stackfile.cli.container_fast import done, parse

    try:
        parsed = parse(argv, environ)
    except Exception:  # any doubt: the full CLI decides
        parsed = None
    if parsed is None or parsed[1].interactive:
        return
    from stackfile.cli.boundary import boundary
    from stackfile.cli.remote import container_run

    where = SimpleNamespace(host=host, environ=environ, cert_path=environ.get("STACKFILE_CERT_PATH", ""),
                            tls_verify=environ.get("STACKFILE_TLS_VERIFY", "") not in ("", "0", "false"))
    sys.exit(done(boundary(lambda: container_run(where, parsed[1]), environ)))


def main() -> None:
    """Console entry point."""
    environ = dict(os.environ)
    through = remote(sys.argv[1:], environ)
    if through is not None:
        if "container" in through[1]:
            remote_run(through[0], through[1], environ)
        from stackfile.cli.main import main as full

        full()
        return
    if "container" in sys.argv[1:]:  # ``container run``: returns only when it does not handle argv
        from stackfile.cli.container_fast import main as container_main

        container_main(sys.argv[1:], environ)
    if "image" in sys.argv[1:]:  # ``image build``: returns only when it does not handle argv
        from stackfile.cli.build_fast import main as build_main

        build_main(sys.argv[1:], environ)
    if "config" in sys.argv[1:]:
        try:
            plain_config = parse_config(sys.argv[1:], environ)
        except Exception:  # any doubt: the full CLI decides
            plain_config = None
        if plain_config is not None:
            from stackfile.cli.boundary import boundary

            sys.exit(boundary(lambda: config(*plain_config), environ))
    try:
        parsed = parse(sys.argv[1:], environ)
        running = _unchanged(*parsed) if parsed is not None else None
    except Exception:  # any doubt: the full CLI decides, and reports errors properly
        parsed, running = None, None
    if running is not None:
        report_running(running)
        sys.exit(0)
    if parsed is not None:  # parsed cleanly: nothing has run yet, and the rest is the engine's
        from stackfile.cli.boundary import boundary

        sys.exit(boundary(lambda: up_detached(*parsed), environ))
    from stackfile.cli.main import main as full

    full()
