"""A container's files from the command line: ``cp``, ``diff``, ``export``, ``commit``.

The ``container`` group imports them on first use (:mod:`stackfile.cli.lazy`); the project
commands (``cp``, ``commit``, and ``export SERVICE``) name a service instead of a container.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from stackfile.cli.main import GlobalOptions
from stackfile.store.paths import StorePaths

__all__ = ["commit_service", "container_commit", "container_cp", "container_diff", "container_export",
           "cp_service", "export_service"]


def _paths(opts: GlobalOptions) -> StorePaths:
    return StorePaths.at(opts.root)


def _human(size: float) -> str:
    """Docker's HumanSize: decimal units, three significant digits (``2.05kB``)."""
    units = ["B", "kB", "MB", "GB", "TB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000
        i += 1
    return f"{size:.3g}{units[i]}"


def _copy(opts: GlobalOptions, src: str, dest: str, archive: bool, follow_link: bool, quiet: bool) -> None:
    from stackfile.engine.container_fs import copy

    result = copy(_paths(opts), src, dest, archive=archive, follow_link=follow_link,
                  stdin=sys.stdin.buffer, stdout=sys.stdout.buffer)
    if not quiet and "-" not in (src, dest) and sys.stderr.isatty():  # as Docker: on a terminal only
        size = result.get("bytes")
        click.echo(f"Successfully copied {_human(size if isinstance(size, int) else 0)} to {dest}", err=True)


def _cp_options(f: Any) -> Any:
    f = click.option("-q", "--quiet", is_flag=True,
                     help="Suppress the summary (it is only shown on a terminal anyway).")(f)
    f = click.option("-L", "--follow-link", is_flag=True,
                     help="Always follow a symbolic link in SRC_PATH.")(f)
    f = click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid information).")(f)
    return f


@click.command("cp")
@_cp_options
@click.argument("src", metavar="SRC")
@click.argument("dest", metavar="DEST")
@click.pass_obj
def container_cp(opts: GlobalOptions, src: str, dest: str, archive: bool, follow_link: bool,
                 quiet: bool) -> None:
    """Copy files between a container and the host.

    \b
    stackfile container cp CONTAINER:SRC_PATH DEST_PATH|-
    stackfile container cp SRC_PATH|- CONTAINER:DEST_PATH

    '-' reads or writes a tar stream on standard input or output."""
    _copy(opts, src, dest, archive, follow_link, quiet)


@click.command("diff")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
@click.argument("ref", metavar="CONTAINER")
@click.pass_obj
def container_diff(opts: GlobalOptions, ref: str, fmt: str) -> None:
    """Show what a container changed in its file system (A added, C changed, D deleted)."""
    from stackfile.engine.container_changes import KIND_LETTER, changes

    items = changes(_paths(opts), ref)
    if fmt == "json":
        click.echo(json.dumps(items, indent=2))
        return
    for item in items:
        click.echo(f"{KIND_LETTER[int(item['Kind'])]} {item['Path']}")  # type: ignore[call-overload]


def _export(opts: GlobalOptions, ref: str, output: str | None) -> None:
    from stackfile.engine.container_fs import export

    if output is None:
        if sys.stdout.isatty():
            raise click.UsageError("refusing to write a tar to a terminal; use -o FILE or redirect "
                                   "the output")
        export(_paths(opts), ref, sys.stdout.buffer)
        return
    import os

    tmp = f"{output}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            export(_paths(opts), ref, fh)
        os.replace(tmp, output)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@click.command("export")
@click.option("-o", "--output", metavar="FILE", help="Write to a file instead of standard output.")
@click.argument("ref", metavar="CONTAINER")
@click.pass_obj
def container_export(opts: GlobalOptions, ref: str, output: str | None) -> None:
    """Write a container's file system as a tar archive."""
    _export(opts, ref, output)


def _commit_options(f: Any) -> Any:
    f = click.option("-p", "--pause/--no-pause", default=True, show_default=True,
                     help="Pause the container while committing.")(f)
    f = click.option("-m", "--message", default="", help="Commit message.")(f)
    f = click.option("-c", "--change", "changes", multiple=True, metavar="INSTRUCTION",
                     help="Apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
                          "USER, VOLUME, WORKDIR, STOPSIGNAL).")(f)
    f = click.option("-a", "--author", default="", help='Author (e.g. "Jane <jane@example.com>").')(f)
    return f


def _commit(opts: GlobalOptions, ref: str, repository: str | None, **flags: Any) -> None:
    from stackfile.engine.container_commit import commit

    result = commit(_paths(opts), ref, repository, author=flags["author"], message=flags["message"],
                    changes=tuple(flags["changes"]), pause=flags["pause"])
    click.echo(result["Id"])


@click.command("commit")
@_commit_options
@click.argument("ref", metavar="CONTAINER")
@click.argument("repository", metavar="[REPOSITORY[:TAG]]", required=False)
@click.pass_obj
def container_commit(opts: GlobalOptions, ref: str, repository: str | None, **flags: Any) -> None:
    """Create a new image from a container's changes."""
    _commit(opts, ref, repository, **flags)


# ---------------------------------------------------------------------------------------------- project
def _service_container(opts: GlobalOptions, service: str, index: int) -> str:
    from stackfile.engine.container_commit import service_container

    return service_container(opts, service, index)


def _service_arg(opts: GlobalOptions, arg: str, index: int) -> str:
    from stackfile.engine.container_fs import parse_copy_arg

    service, path = parse_copy_arg(arg)
    return arg if service is None else f"{_service_container(opts, service, index)}:{path}"


@click.command("cp")
@_cp_options
@click.option("--index", type=int, default=1, help="Index of the container if the service has several.")
@click.option("--all", "all_", is_flag=True, hidden=True, help="Deprecated, ignored (as Compose).")
@click.argument("src", metavar="SRC")
@click.argument("dest", metavar="DEST")
@click.pass_obj
def cp_service(opts: GlobalOptions, src: str, dest: str, archive: bool, follow_link: bool, quiet: bool,
               index: int, all_: bool) -> None:
    """Copy files between a service container and the host.

    \b
    stackfile cp [--index N] SERVICE:SRC_PATH DEST_PATH|-
    stackfile cp [--index N] SRC_PATH|- SERVICE:DEST_PATH"""
    _copy(opts, _service_arg(opts, src, index), _service_arg(opts, dest, index), archive, follow_link, quiet)


@click.command("commit")
@_commit_options
@click.option("--index", type=int, default=1, help="Index of the container if the service has several.")
@click.argument("service")
@click.argument("repository", metavar="[REPOSITORY[:TAG]]", required=False)
@click.pass_obj
def commit_service(opts: GlobalOptions, service: str, repository: str | None, index: int,
                   **flags: Any) -> None:
    """Create a new image from a service container's changes."""
    _commit(opts, _service_container(opts, service, index), repository, **flags)


def export_service(opts: GlobalOptions, service: str, output: str | None, index: int) -> None:
    """``export SERVICE -o FILE`` (Compose's): the service container's file system as a tar."""
    _export(opts, _service_container(opts, service, index), output)
