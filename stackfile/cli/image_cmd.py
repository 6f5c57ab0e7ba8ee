"""``build``, ``image …`` and ``system …``: the image store and the builder from the command line."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from stackfile.cli.build_fast import build_command, event_line
from stackfile.cli.completion_cmd import complete_services
from stackfile.cli.main import key_values
from stackfile.cli.term import human_size
from stackfile.events import Event

_BUILD_ARG = click.option("--build-arg", "build_args", multiple=True, metavar="KEY=VALUE",
                          help="Build-time variable (repeatable).")


def _paths(g: Any) -> Any:
    from stackfile.store.paths import StorePaths

    return StorePaths.at(g.root)




class BuildPrinter:
    """Renders build events: one line per step (cached or ran, with its time); RUN output indented."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.console: Any = None
        if self.tty and not quiet:
            from rich.console import Console

            self.console = Console(stderr=True, highlight=False)

    def _line(self, text: str, style: str = "") -> None:
        if self.console is not None:
            self.console.print(text, style=style or None, markup=False)
        else:
            click.echo(text, err=True)

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        line = event_line(event.kind, lambda name, default: getattr(event, name, default), self.tty)
        if line is not None:
            self._line(*line)


def _build_args(items: tuple[str, ...], environ: dict[str, str]) -> dict[str, str]:
    """``--build-arg KEY=VALUE``, or ``KEY`` alone for the environment's value (Docker's rule)."""
    from stackfile.cli.build_fast import build_arg_values

    key_values(items, "--build-arg")  # an empty key is a usage error
    return build_arg_values(items, environ)


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("--no-cache", is_flag=True, help="Do not use the build cache.")
@click.option("--pull", is_flag=True, help="Ignored (there is no registry).")
@_BUILD_ARG
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.pass_obj
def build(g: Any, services: tuple[str, ...], no_cache: bool, pull: bool, build_args: tuple[str, ...],
          quiet: bool) -> None:
    """Build the project's images (images: recipes and services' build: sections)."""
    from stackfile.engine.images import build_project

    built = build_project(g, list(services), no_cache=no_cache,
                          build_args=_build_args(build_args, g.environ), sink=BuildPrinter(quiet))
    if not built and not quiet:
        click.echo("nothing to build", err=True)


@click.group()
def image() -> None:
    """Manage images: build, list, inspect, tag, remove, save, load."""


@image.command("build")
@click.argument("context", default=".")
@click.option("-f", "--file", "dockerfile", metavar="PATH", help="Dockerfile (default CONTEXT/Dockerfile).")
@click.option("-t", "--tag", "tags", multiple=True, metavar="NAME[:TAG]", help="Name the image (repeatable).")
@click.option("--target", metavar="STAGE", help="Build this stage.")
@_BUILD_ARG
@click.option("--no-cache", is_flag=True, help="Do not use the build cache.")
@click.option("--pull", is_flag=True, help="Ignored (there is no registry).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the image id.")
@click.pass_obj
def image_build(g: Any, context: str, dockerfile: str | None, tags: tuple[str, ...], target: str | None,
                build_args: tuple[str, ...], no_cache: bool, pull: bool, quiet: bool) -> None:
    """Build an image from a Dockerfile."""
    build_command(g.root, context, dockerfile=dockerfile, tags=tags, target=target,
                  build_args=_build_args(build_args, g.environ), no_cache=no_cache, quiet=quiet,
                  sink=None if quiet else BuildPrinter())


@image.command("ls")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@click.option("-q", "--quiet", is_flag=True, help="Only ids.")
@click.pass_obj
def image_ls(g: Any, fmt: str, quiet: bool) -> None:
    """List images."""
    import json
    from types import SimpleNamespace

    from stackfile.engine.images import list_images

    rows: list[tuple[Any, int]]
    if g.host:
        from stackfile.cli.remote import client

        rows = [(SimpleNamespace(id=r["Id"], short_id=r["ShortId"], names=tuple(r["Names"]),
                                 created=r["Created"]), r["Size"]) for r in client(g).images()]
    else:
        rows = list_images(_paths(g))
    if quiet:
        for img, _ in rows:
            click.echo(img.short_id)
        return
    if fmt == "json":
        for img, size in rows:
            for name in img.names or ("<none>:<none>",):
                repo, _, tag = name.rpartition(":")
                click.echo(json.dumps({"Repository": repo, "Tag": tag, "ID": img.short_id,
                                       "Digest": img.id, "CreatedAt": img.created, "Size": size}))
        return
    lines = [("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE")]
    for img, size in rows:
        for name in img.names or ("<none>:<none>",):
            repo, _, tag = name.rpartition(":")
            lines.append((repo, tag, img.short_id, img.created[:19].replace("T", " "), human_size(size)))
    _table(lines)


def _table(lines: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]))]
    for row in lines:
        click.echo("   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@image.command("rm")
@click.argument("refs", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Remove every name, even if containers use it.")
@click.pass_obj
def image_rm(g: Any, refs: tuple[str, ...], force: bool) -> None:
    """Remove images (by name: untag; by id: delete)."""
    from stackfile.engine.images import remove_images

    for line in remove_images(_paths(g), list(refs), force=force):
        click.echo(line)


@image.command("inspect")
@click.argument("refs", nargs=-1, required=True)
@click.pass_obj
def image_inspect(g: Any, refs: tuple[str, ...]) -> None:
    """Show images' config and layers as JSON."""
    import json

    from stackfile.engine.images import inspect_image

    click.echo(json.dumps([inspect_image(_paths(g), ref) for ref in refs], indent=2, sort_keys=True))


@image.command("history")
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@click.pass_obj
def image_history(g: Any, ref: str, fmt: str) -> None:
    """Show the steps that made an image."""
    import json

    from stackfile.engine.images import image_history as history

    rows = history(_paths(g), ref)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    lines = [("LAYER", "CREATED", "CREATED BY", "SIZE")]
    for row in rows:
        by = row["created_by"] if len(row["created_by"]) <= 60 else row["created_by"][:57] + "..."
        lines.append((row["layer"][:12] or "<missing>", row["created"][:19].replace("T", " "), by,
                      human_size(row["size"])))
    _table(lines)


@image.command("tag")
@click.argument("source")
@click.argument("target")
@click.pass_obj
def image_tag(g: Any, source: str, target: str) -> None:
    """Give an image another name."""
    from stackfile.engine.images import tag_image

    tag_image(_paths(g), source, target)


@image.command("prune")
@click.option("-a", "--all", "all_images", is_flag=True, help="Remove every image no container uses.")
@click.option("-f", "--force", is_flag=True, help="Do not ask (accepted for compatibility).")
@click.pass_obj
def image_prune(g: Any, all_images: bool, force: bool) -> None:
    """Remove unused images and the layers only they used."""
    from stackfile.engine.images import prune_images

    report = prune_images(_paths(g), all_images=all_images)
    for image_id in report["images"]:
        click.echo(f"deleted {image_id}")
    click.echo(f"Total reclaimed space: {human_size(report['bytes'])}")


@image.command("save")
@click.argument("refs", nargs=-1, required=True)
@click.option("-o", "--output", required=True, metavar="FILE", help="Archive to write.")
@click.option("--format", "fmt", type=click.Choice(["docker-archive", "oci-archive"]),
              default="docker-archive", help="Archive layout: docker save's or an OCI image layout.")
@click.pass_obj
def image_save(g: Any, refs: tuple[str, ...], output: str, fmt: str) -> None:
    """Write images to an archive (docker-archive: gzip layers; oci-archive: zstd layers)."""
    from stackfile.engine.images import save_images

    save_images(_paths(g), list(refs), output, fmt)


@image.command("load")
@click.option("-i", "--input", "archive", required=True, metavar="FILE", help="Archive to read.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.pass_obj
def image_load(g: Any, archive: str, quiet: bool) -> None:
    """Load images from a Docker or OCI archive."""
    from stackfile.engine.images import load_images

    for img in load_images(_paths(g), archive):
        if not quiet:
            click.echo(f"Loaded image: {', '.join(img.names) or img.id}")


@image.command("import")
@click.argument("archive")
@click.argument("name", required=False)
@click.pass_obj
def image_import(g: Any, archive: str, name: str | None) -> None:
    """Create an image from a root file system tarball."""
    from stackfile.engine.images import import_rootfs

    click.echo(import_rootfs(_paths(g), archive, name).id)


@click.group()
def system() -> None:
    """Disk use and cleanup of the store."""


@system.command("df")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@click.pass_obj
def system_df(g: Any, fmt: str) -> None:
    """Show disk use by images, containers and the build cache."""
    import json

    from stackfile.engine.images import system_df as df

    rows = df(_paths(g))
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    lines = [("TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE")]
    lines += [(r["type"], str(r["total"]), str(r["active"]), human_size(r["size"]),
               human_size(r["reclaimable"])) for r in rows]
    _table(lines)


@system.command("prune")
@click.option("-a", "--all", "all_images", is_flag=True, help="Also remove every image no container uses.")
@click.option("-f", "--force", is_flag=True, help="Do not ask (accepted for compatibility).")
@click.pass_obj
def system_prune(g: Any, all_images: bool, force: bool) -> None:
    """Remove dangling images, the build cache and unreferenced layers."""
    from stackfile.engine.images import system_prune as prune

    report = prune(_paths(g), all_images=all_images)
    click.echo(f"deleted {len(report['images'])} images, {report['layers']} layers, "
               f"{report['cache_entries']} build cache entries")
    click.echo(f"Total reclaimed space: {human_size(report['bytes'])}")


@system.command("check")
@click.option("--repair", is_flag=True, help="Fix what can be fixed, say what was done, then check again.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def system_check(g: Any, repair: bool, as_json: bool) -> None:
    """Verify the store: blobs, layers, images, containers, networks, volumes, leftovers on the host.

    Exits 0 only when the store is sound (after --repair: when nothing is left to fix)."""
    import json

    from stackfile.engine.check import check

    report = check(_paths(g), repair=repair)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for f in report.repaired:
            click.echo(f"repaired  {f.area:<10} {f.subject}: {f.problem} -> {f.repair}")
        for f, error in report.failed:
            click.echo(f"FAILED    {f.area:<10} {f.subject}: {f.repair}: {error}")
        for f in report.findings:
            fix = f" (--repair: {f.repair})" if f.repair and not repair else ""
            hint = f" (hint: {f.hint})" if f.hint else ""
            click.echo(f"problem   {f.area:<10} {f.subject}: {f.problem}{fix}{hint}")
        click.echo("the store is sound" if report.sound else f"{len(report.findings)} problem(s) found",
                   err=not report.sound)
    if not report.sound:
        raise SystemExit(1)


def _registry_commands() -> None:
    from stackfile.cli.registry_cmd import image_pull, image_push

    image.add_command(image_pull)
    image.add_command(image_push)


_registry_commands()


def _observing_system() -> None:
    """``system events|info`` live in :mod:`stackfile.cli.observe_cmd`."""
    from stackfile.cli import observe_cmd

    for command in observe_cmd.SYSTEM_COMMANDS:
        system.add_command(command)


_observing_system()
