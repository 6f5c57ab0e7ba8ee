"""``stackfile init``: start a new stack from a project template."""

from __future__ import annotations

from pathlib import Path

import click

from stackfile.cli.main import GlobalOptions


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("-t", "--template", "template", default="static-site", help="Template name (see --list).")
@click.option("--list", "list_only", is_flag=True, help="List the templates and exit.")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@click.pass_obj
def init(g: GlobalOptions, directory: str, template: str, list_only: bool, force: bool) -> None:
    """Write a new stack (stack.yaml and starter files) from a template."""
    from stackfile.engine.init import init_project, list_templates

    if list_only:
        for info in list_templates():
            click.echo(f"{info.name:<14} {info.description}")
        return
    target = Path(directory)
    written = init_project(target, template, dict(g.template_vars), force=force)
    for path in written:
        click.echo(f"created {path}")
    click.echo(f"next: cd {target} && stackfile up -d", err=True)
