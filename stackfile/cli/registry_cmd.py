"""``image pull|push``, ``login``, ``logout``, and the Compose ``pull``/``push``: registries from the
command line, with a progress bar per layer on a terminal and plain lines otherwise."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from stackfile.events import Event

_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="json: one JSON object per image on standard output.",
)
_QUIET = click.option("-q", "--quiet", is_flag=True, help="Print only the image reference (no progress).")


def _paths(g: Any) -> Any:
    from stackfile.store.paths import StorePaths

    return StorePaths.at(g.root)


class TransferPrinter:
    """Layer events as Docker prints them: a live bar per layer on a terminal (rich), else one
    line per layer status change (not per chunk); nothing with -q or --format json."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty() and not quiet
        self.last: dict[tuple[str, str], str] = {}
        self.progress: Any = None
        self.tasks: dict[tuple[str, str], Any] = {}

    def __enter__(self) -> TransferPrinter:
        if self.tty:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(), transient=False, console=None
            )
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        layer = getattr(event, "layer", "")
        if not layer:
            if event.kind in ("pull.done", "push.done"):
                self._line(event.message)
            return
        key = (getattr(event, "image", ""), layer)
        status = getattr(event, "status", "")
        if self.progress is not None:
            task = self.tasks.get(key)
            total = getattr(event, "total", 0) or None
            if task is None:
                task = self.tasks[key] = self.progress.add_task(f"{layer}: {status}", total=total)
            self.progress.update(
                task, description=f"{layer}: {status}", completed=getattr(event, "current", 0), total=total
            )
            return
        if self.last.get(key) != status:
            self.last[key] = status
            self._line(f"{layer}: {status}")

    def _line(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text, markup=False, highlight=False)
        else:
            click.echo(text, err=True)


def _result(fmt: str, quiet: bool, doc: dict[str, Any], text: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(doc))
    elif quiet:
        click.echo(doc.get("reference", ""))
    else:
        click.echo(text)


@click.command("pull")
@click.argument("ref")
@click.option(
    "--platform", metavar="OS/ARCH[/VARIANT]", help="Pick this platform from a multi-platform image."
)
@_QUIET
@_FORMAT
@click.pass_obj
def image_pull(g: Any, ref: str, platform: str | None, quiet: bool, fmt: str) -> None:
    """Pull an image from its registry (busybox, ghcr.io/o/app:1, host:5000/app@sha256:...)."""
    from stackfile.engine.registry import pull_image
    from stackfile.registry.reference import parse_reference

    name = str(parse_reference(ref))
    with TransferPrinter(quiet or fmt == "json") as printer:
        image = pull_image(_paths(g), ref, platform=platform, sink=printer)
    doc = {"reference": name, "id": image.id, "names": list(image.names)}
    _result(fmt, quiet, doc, f"Status: Downloaded {name}\n{name}")


@click.command("push")
@click.argument("ref")
@_QUIET
@_FORMAT
@click.pass_obj
def image_push(g: Any, ref: str, quiet: bool, fmt: str) -> None:
    """Push an image to the registry its name gives (tag it first: image tag app host:5000/app:1)."""
    from stackfile.engine.registry import push_image
    from stackfile.registry.reference import parse_reference

    name = str(parse_reference(ref))
    with TransferPrinter(quiet or fmt == "json") as printer:
        digest = push_image(_paths(g), ref, sink=printer)
    _result(fmt, quiet, {"reference": name, "digest": digest}, f"{name}@{digest}" if not quiet else name)


def _password(password: str | None, password_stdin: bool, username: str | None) -> tuple[str, str]:
    if password_stdin:
        if password:
            raise click.UsageError("--password and --password-stdin are mutually exclusive")
        if not username:
            raise click.UsageError("--password-stdin needs --username")
        password = sys.stdin.read().rstrip("\r\n")
    if not username:
        username = click.prompt("Username")
    if not password:
        password = click.prompt("Password", hide_input=True)
    return username or "", password or ""


@click.command()
@click.argument("server", required=False)
@click.option("-u", "--username", metavar="USER", help="User name.")
@click.option("-p", "--password", metavar="PASSWORD", help="Password (prefer --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_obj
def login(
    g: Any, server: str | None, username: str | None, password: str | None, password_stdin: bool
) -> None:
    """Log in to a registry (Docker Hub without SERVER); kept in Docker's config.json."""
    from stackfile.engine.registry import login as do_login

    if password and not password_stdin:
        click.echo("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", err=True)
    user, secret = _password(password, password_stdin, username)
    where = do_login(server, user, secret)
    click.echo(f"Credentials stored in {where}", err=True)
    click.echo("Login Succeeded")


@click.command()
@click.argument("server", required=False)
@click.pass_obj
def logout(g: Any, server: str | None) -> None:
    """Forget the credentials of a registry (Docker Hub without SERVER)."""
    from stackfile.engine.registry import logout as do_logout

    key, found = do_logout(server)
    click.echo(f"Removing login credentials for {key}" if found else f"Not logged in to {key}")


@click.command()
@click.argument("services", nargs=-1)
@click.option("--ignore-buildable", is_flag=True, help="Skip services that have a build: section.")
@click.option("--ignore-pull-failures", is_flag=True, help="Pull what can be pulled and report the rest.")
@click.option(
    "--policy",
    type=click.Choice(["always", "missing"]),
    default="always",
    help="missing: pull only images the store does not have.",
)
@_QUIET
@click.pass_obj
def pull(
    g: Any,
    services: tuple[str, ...],
    ignore_buildable: bool,
    ignore_pull_failures: bool,
    policy: str,
    quiet: bool,
) -> None:
    """Pull the images of the project's services."""
    from stackfile.engine.project_registry import pull_project

    with TransferPrinter(quiet) as printer:
        failed = pull_project(
            g,
            list(services),
            ignore_buildable=ignore_buildable,
            missing_only=policy == "missing",
            keep_going=ignore_pull_failures,
            sink=printer,
        )
    for service, message in failed:
        click.echo(f"service {service!r}: {message}", err=True)


@click.command()
@click.argument("services", nargs=-1)
@click.option("--ignore-push-failures", is_flag=True, help="Push what can be pushed and report the rest.")
@_QUIET
@click.pass_obj
def push(g: Any, services: tuple[str, ...], ignore_push_failures: bool, quiet: bool) -> None:
    """Push the images of the project's services (building those with build: first)."""
    from stackfile.cli.image_cmd import BuildPrinter
    from stackfile.engine.project_registry import push_project

    with TransferPrinter(quiet) as printer:

        def sink(event: Event) -> None:
            (printer if event.kind.startswith(("push.", "pull.")) else build_printer)(event)

        build_printer = BuildPrinter(quiet)
        failed = push_project(g, list(services), keep_going=ignore_push_failures, sink=sink)
    for service, message in failed:
        click.echo(f"service {service!r}: {message}", err=True)
