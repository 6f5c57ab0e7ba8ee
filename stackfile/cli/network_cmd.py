"""``stackfile network ...`` and ``stackfile volume ...``."""

from __future__ import annotations

import json
from typing import Any

import click

from stackfile.cli.main import GlobalOptions, key_values
from stackfile.engine import networks as engine
from stackfile.store.paths import StorePaths

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                      help="Output format.")


def _paths(opts: GlobalOptions) -> StorePaths:
    return StorePaths.at(opts.root)




def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]], quiet: bool) -> None:
    if quiet:
        for row in rows:
            click.echo(row["Name"])
        return
    cells = [[h for h, _ in columns]] + [[str(r.get(k, "")) for _, k in columns] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    for line in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def _removed(results: list[tuple[str, Any]]) -> int:
    code = 0
    for name, err in results:
        if err is None:
            click.echo(name)
        else:
            click.echo(f"error: {err.render()}", err=True)
            code = err.exit_code
    return code


@click.group()
def network() -> None:
    """Manage networks."""


@network.command("ls")
@FORMAT
@click.option("-q", "--quiet", is_flag=True, help="Only names.")
@click.option("--project", default=None, help="Only this project's networks.")
@click.pass_obj
def network_ls(opts: GlobalOptions, fmt: str, quiet: bool, project: str | None) -> None:
    """List networks."""
    rows = engine.network_ls(_paths(opts), project)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    _table(rows, [("NAME", "Name"), ("DRIVER", "Driver"), ("SUBNET", "Subnet"), ("GATEWAY", "Gateway"),
                  ("BRIDGE", "Bridge"), ("INTERNAL", "Internal"), ("CONTAINERS", "Containers")], quiet)


@network.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.pass_obj
def network_inspect(opts: GlobalOptions, names: tuple[str, ...]) -> None:
    """Show networks in detail (JSON)."""
    click.echo(json.dumps(engine.network_inspect(_paths(opts), names), indent=2))


@network.command("create")
@click.argument("name")
@click.option("--subnet", default=None, help="Subnet in CIDR form (default: a free /24 of 10.89.0.0/16).")
@click.option("--gateway", default=None, help="Gateway address (default: the first host).")
@click.option("--internal", is_flag=True, help="No outbound access.")
@click.option("-d", "--driver", default="bridge", help="Driver (only bridge).")
@click.option("-o", "--opt", "opts_", multiple=True, metavar="KEY=VALUE", help="Driver option.")
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Label.")
@click.pass_obj
def network_create(opts: GlobalOptions, name: str, subnet: str | None, gateway: str | None, internal: bool,
                   driver: str, opts_: tuple[str, ...], labels: tuple[str, ...]) -> None:
    """Create a network."""
    rec = engine.network_create(_paths(opts), name, subnet=subnet, gateway=gateway, internal=internal,
                                labels=key_values(labels, "--label"), driver=driver,
                                options=key_values(opts_, "--opt"))
    click.echo(rec["Name"])


@network.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.pass_obj
def network_rm(opts: GlobalOptions, names: tuple[str, ...]) -> int:
    """Remove networks (refused while containers are attached)."""
    return _removed(engine.network_rm(_paths(opts), names))


@network.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not ask (accepted for compatibility).")
@click.pass_obj
def network_prune(opts: GlobalOptions, force: bool) -> None:
    """Remove networks no container uses."""
    for name in engine.network_prune(_paths(opts)):
        click.echo(name)


@click.group()
def volume() -> None:
    """Manage volumes."""


@volume.command("ls")
@FORMAT
@click.option("-q", "--quiet", is_flag=True, help="Only names.")
@click.option("--project", default=None, help="Only this project's volumes.")
@click.pass_obj
def volume_ls(opts: GlobalOptions, fmt: str, quiet: bool, project: str | None) -> None:
    """List volumes."""
    rows = engine.volume_ls(_paths(opts), project)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    shown = [r | {"Users": len(r["UsedBy"])} for r in rows]
    _table(shown, [("DRIVER", "Driver"), ("VOLUME NAME", "Name"), ("CONTAINERS", "Users")], quiet)


@volume.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.pass_obj
def volume_inspect(opts: GlobalOptions, names: tuple[str, ...]) -> None:
    """Show volumes in detail (JSON)."""
    click.echo(json.dumps(engine.volume_inspect(_paths(opts), names), indent=2))


@volume.command("create")
@click.argument("name", required=False, default="")
@click.option("-d", "--driver", default="local", help="Driver (only local).")
@click.option("-o", "--opt", "opts_", multiple=True, metavar="KEY=VALUE",
              help="Driver option (type=none, o=bind, device=DIR).")
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Label.")
@click.pass_obj
def volume_create(opts: GlobalOptions, name: str, driver: str, opts_: tuple[str, ...],
                  labels: tuple[str, ...]) -> None:
    """Create a volume (a random name when none is given)."""
    rec = engine.volume_create(_paths(opts), name, labels=key_values(labels, "--label"), driver=driver,
                               options=key_values(opts_, "--opt"))
    click.echo(rec["Name"])


@volume.command("rm")
@click.option("-f", "--force", is_flag=True, help="Remove even if containers use it.")
@click.argument("names", nargs=-1, required=True)
@click.pass_obj
def volume_rm(opts: GlobalOptions, force: bool, names: tuple[str, ...]) -> int:
    """Remove volumes (refused while containers use them)."""
    return _removed(engine.volume_rm(_paths(opts), names, force=force))


@volume.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Also named volumes, not only anonymous ones.")
@click.option("-f", "--force", is_flag=True, help="Do not ask (accepted for compatibility).")
@click.pass_obj
def volume_prune(opts: GlobalOptions, all_: bool, force: bool) -> None:
    """Remove unused volumes."""
    for name in engine.volume_prune(_paths(opts), all=all_):
        click.echo(name)


def _register_changes() -> None:
    """``create``/``update``/``rename``/``attach`` and ``connect``/``disconnect`` live in
    :mod:`stackfile.cli.change_cmd`."""
    from stackfile.cli.change_cmd import register_network

    register_network(network)


_register_changes()
