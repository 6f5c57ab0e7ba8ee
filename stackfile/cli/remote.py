"""The commands a daemon serves, run through it: ``-H``/``STACKFILE_HOST`` given. Each builds the
request, calls :mod:`stackfile.client` and renders with the in-process command's own renderer, so
the output and the exit code are the same as in-process."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from types import SimpleNamespace

from stackfile.cli.term import echo
from stackfile.errors import InvalidSpec, Location

TYPE_CHECKING = False  # not typing's: ``container run`` through a daemon skips click and typing
if TYPE_CHECKING:
    import tarfile
    from typing import Any

    from stackfile.client.api import Client

__all__ = ["client", "container_run", "down", "logs", "project_rows", "up", "upload_project"]

MAX_UPLOAD = 256 << 20  # bytes of project files sent with an up
SKIP = {".git", ".hg", ".svn", "__pycache__", "node_modules"}


def client(g: Any) -> Client:
    """The daemon the global options name."""
    from stackfile.client.api import Client

    return Client(g.host, tls_verify=g.tls_verify, cert_path=g.cert_path)


def _env_request(env: Iterable[str], env_files: Iterable[str], environ: dict[str, str]) -> list[str]:
    """``-e`` and ``--env-file`` resolved here, where the caller's environment and files are."""
    from stackfile.cli.kv import with_environment

    out: dict[str, str] = {}
    for path in env_files:
        try:
            with open(path, encoding="utf-8") as fh:
                lines = [ln.strip() for ln in fh.read().splitlines()]
        except OSError as exc:
            raise InvalidSpec(f"cannot read env file {path!r}: {exc.strerror}",
                              location=Location(file=path, key_path="--env-file")) from None
        out.update(with_environment([ln for ln in lines if ln and not ln.startswith("#")], environ))
    out.update(with_environment(env, environ))
    return [f"{k}={v}" for k, v in out.items()]


def run_request(opts: Any, environ: dict[str, str]) -> dict[str, Any]:
    """The API's ContainerRunRequest for ``container run``'s RunOptions."""
    if opts.interactive:
        raise InvalidSpec("-i/--interactive is not served over a daemon yet",
                          location=Location(key_path="-i"), hint="run without -i, or without --host")
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in opts._asdict().items()}
    for key in ("detach", "interactive", "env_files"):
        data.pop(key)
    data["env"] = _env_request(opts.env, opts.env_files, environ)
    return data


def container_run(g: Any, opts: Any) -> int:
    """``container run`` through the daemon: the id of a detached one, else its output and exit code."""
    api = client(g)
    request = run_request(opts, g.environ)
    if opts.detach:
        echo(api.run_detached(request))
        return 0
    return attached_output(api.run_attached(request))


def attached_output(items: Iterator[dict[str, Any]]) -> int:
    """Write an attached run's output where the in-process run writes it; its exit code."""
    import sys

    code = 0
    for item in items:
        kind = item["kind"]
        if kind in ("stdout", "stderr"):
            out = sys.stdout if kind == "stdout" else sys.stderr
            out.flush()
            out.buffer.write(item["data"].encode("utf-8", "surrogateescape"))
            out.buffer.flush()
        elif kind == "exit":
            code = int(item["code"])
    return code


def log_lines(items: Iterator[dict[str, Any]]) -> Iterator[Any]:
    """A logs stream as objects with the engine's log-line attributes."""
    for item in items:
        yield SimpleNamespace(**item)


# projects

def _project(g: Any) -> Any:
    from stackfile.engine.config import load

    return load(g)


def _files(working_dir: str) -> str:
    """The working directory as a gzipped tar, base64 (version-control and cache directories left out)."""
    import base64
    import io
    import tarfile
    buffer = io.BytesIO()

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if SKIP & set(info.name.split("/")) else info

    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for name in sorted(os.listdir(working_dir)):
            if name not in SKIP:
                tar.add(os.path.join(working_dir, name), arcname=name, filter=keep)
    if buffer.tell() > MAX_UPLOAD:
        raise InvalidSpec(f"the project directory {working_dir} is too large to send ({buffer.tell()} bytes)",
                          hint=f"keep what a remote up needs under {MAX_UPLOAD >> 20} MiB")
    return base64.b64encode(buffer.getvalue()).decode()


def upload_project(g: Any, *, with_files: bool) -> tuple[Client, str]:
    """Resolve the project here and send it (with its files for an ``up``); (client, project name)."""
    import json

    from stackfile.engine.render import config_text

    project = _project(g)
    api = client(g)
    config = json.loads(config_text(project.config, "json"))
    api.upload(project.name, config, project.working_dir, _files(project.working_dir) if with_files else "")
    return api, project.name


def _event(item: dict[str, Any]) -> Any:
    action = item.get("action")
    if action is not None:
        action = SimpleNamespace(kind=SimpleNamespace(value=action["kind"]), target=action["target"],
                                 name=action.get("name", ""))
    return SimpleNamespace(kind=item["kind"], message=item.get("message", ""), action=action,
                           elapsed=item.get("elapsed") or 0.0)


def _render(events: Iterator[dict[str, Any]]) -> None:
    from stackfile.cli.project_render import EventPrinter

    printer = EventPrinter()
    for item in events:
        if item["kind"] != "done":
            printer(_event(item))


def up(g: Any, request: dict[str, Any]) -> int:
    """``up -d [--wait]`` through the daemon."""
    api, name = upload_project(g, with_files=True)
    _render(api.up(name, request))
    return 0


def down(g: Any, request: dict[str, Any]) -> int:
    """``down`` through the daemon."""
    api, name = upload_project(g, with_files=False)
    _render(api.down(name, request))
    return 0


def exec_(g: Any, request: dict[str, Any]) -> int:
    """``exec -T`` through the daemon: the command's output here, its exit code."""
    api, name = upload_project(g, with_files=False)
    return attached_output(api.exec(name, request))


def project_rows(g: Any, services: tuple[str, ...], *, all: bool,
                 status: tuple[str, ...]) -> list[dict[str, Any]]:
    """``ps``'s rows from the daemon."""
    api, name = upload_project(g, with_files=False)
    rows = api.ps(name, services, all=all)
    return [r for r in rows if not status or r.get("State") in status]


def logs(g: Any, services: tuple[str, ...], **query: Any) -> Iterator[Any]:
    """The project's log lines from the daemon, with the engine's ``short_name``."""
    api, name = upload_project(g, with_files=False)
    for item in api.project_logs(name, services, **query):
        line = SimpleNamespace(**item)
        prefix = f"{line.project}-"
        line.short_name = line.container[len(prefix):] if line.project and line.container.startswith(prefix) \
            else line.container
        yield line
