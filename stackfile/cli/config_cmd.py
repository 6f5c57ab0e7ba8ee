"""``stackfile config`` (the canonical model, like ``docker compose config``) and ``stackfile graph``."""

from __future__ import annotations

import sys
from typing import Any

import click


def _stdin_if_needed(files: list[str]) -> str | None:
    return sys.stdin.read() if "-" in files else None


def _load(obj: Any, interpolate: bool = True) -> Any:
    from stackfile.engine.config import load

    return load(obj, stdin=_stdin_if_needed(obj.files), interpolate=interpolate)


def _names(project: Any, what: str) -> list[str]:
    config = project.config
    if what == "profiles":
        found = {p for svc in (config.get("services") or {}).values() for p in svc.get("profiles") or []}
        return sorted(found)
    if what == "images":
        return sorted(
            {
                svc.get("image") or f"{project.name}-{name}"
                for name, svc in (config.get("services") or {}).items()
            }
        )
    return sorted(config.get(what) or {})


@click.command()
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="Output format.")
@click.option("--services", "what", flag_value="services", help="Print the service names.")
@click.option("--volumes", "what", flag_value="volumes", help="Print the volume names.")
@click.option("--networks", "what", flag_value="networks", help="Print the network names.")
@click.option("--profiles", "what", flag_value="profiles", help="Print the profile names.")
@click.option("--images", "what", flag_value="images", help="Print the image names.")
@click.option("-q", "--quiet", is_flag=True, help="Only validate; print nothing.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file.")
@click.option("--no-interpolate", is_flag=True, help="Do not substitute ${VARIABLES}.")
@click.option("--resolve-image-digests", is_flag=True, hidden=True, help="Accepted for compatibility.")
@click.pass_obj
def config(
    obj: Any,
    fmt: str,
    what: str | None,
    quiet: bool,
    output: str | None,
    no_interpolate: bool,
    resolve_image_digests: bool,
) -> None:
    """Validate the stack file(s) and print the canonical model."""
    project = _load(obj, interpolate=not no_interpolate)
    for warning in project.warnings:
        click.echo(f"warning: {warning}", err=True)
    if quiet:
        return
    if what:
        text = "\n".join(_names(project, what)) + "\n"
    else:
        from stackfile.engine.render import config_text

        text = config_text(project.config, fmt, interpolated=not no_interpolate)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
        return
    click.echo(text, nl=not text.endswith("\n"))


@click.command()
@click.option(
    "--format", "fmt", type=click.Choice(["text", "dot", "mermaid"]), default="text", show_default=True,
    help="Output format: an indented tree, Graphviz dot or a Mermaid flowchart.",
)
@click.pass_obj
def graph(obj: Any, fmt: str) -> None:
    """Print the project's dependency graph (images, services, networks, volumes) by level."""
    from stackfile.engine.render import graph_text

    project = _load(obj)
    click.echo(graph_text(project.dependency_graph(), fmt), nl=False)
