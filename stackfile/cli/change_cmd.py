"""Commands that change what exists: ``scale``, ``create`` (project and ``container``),
``container update|rename``, ``network connect|disconnect``.

The project commands are registered in :data:`stackfile.cli.main.COMMANDS`; the ``container`` and
``network`` sub-commands are added to those groups by :func:`register_container` and
:func:`register_network`. Each one parses flags, calls one engine function and renders.
"""

from __future__ import annotations

from typing import Any

import click

from stackfile.cli.completion_cmd import complete_services
from stackfile.cli.main import GlobalOptions
from stackfile.store.paths import StorePaths

__all__ = ["create", "register_container", "register_network", "scale"]


def _paths(opts: GlobalOptions) -> StorePaths:
    return StorePaths.at(opts.root)


def _counts(items: tuple[str, ...]) -> dict[str, int]:
    out = {}
    for item in items:
        name, sep, num = item.partition("=")
        if not name or not sep or not num.isdigit():
            raise click.BadParameter(f"expected SERVICE=REPLICAS, got {item!r}",
                                     param_hint="SERVICE=REPLICAS")
        out[name] = int(num)
    return out


# ---------------------------------------------------------------------------------------- project
@click.command()
@click.argument("counts", nargs=-1, required=True, metavar="SERVICE=REPLICAS...",
                shell_complete=complete_services)
@click.option("--no-deps", is_flag=True, help="Don't start linked services.")
@click.pass_obj
def scale(g: GlobalOptions, counts: tuple[str, ...], no_deps: bool) -> None:
    """Scale services (new replicas are numbered after the highest one kept)."""
    from stackfile.cli.project_render import EventPrinter
    from stackfile.engine.project_scale import scale as engine_scale

    engine_scale(g, _counts(counts), no_deps=no_deps, sink=EventPrinter())


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("--build", is_flag=True, help="Build images before starting containers.")
@click.option("--no-build", is_flag=True, help="Don't build an image, even if it's missing.")
@click.option("--force-recreate", is_flag=True, help="Recreate containers even if unchanged.")
@click.option("--no-recreate", is_flag=True, help="If containers already exist, don't recreate them.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers of services not in the file.")
@click.option("--pull", type=click.Choice(["always", "missing", "never", "build"]), default="missing",
              help="Pull images before creating (build: build them).")
@click.option("--quiet-pull", is_flag=True, help="Pull without printing progress.")
@click.option("--scale", multiple=True, metavar="SERVICE=NUM", help="Scale a service (repeatable).")
@click.option("-y", "--yes", is_flag=True, help="Assume yes to prompts.")
@click.pass_obj
def create(g: GlobalOptions, services: tuple[str, ...], build: bool, no_build: bool, force_recreate: bool,
           no_recreate: bool, remove_orphans: bool, pull: str, quiet_pull: bool, scale: tuple[str, ...],
           yes: bool) -> None:
    """Create the stack's containers without starting them."""
    from stackfile.cli.project_render import EventPrinter
    from stackfile.engine.project_scale import CreateRequest
    from stackfile.engine.project_scale import create as engine_create

    if force_recreate and no_recreate:
        raise click.UsageError("--force-recreate and --no-recreate are incompatible")
    if build and no_build:
        raise click.UsageError("--build and --no-build are incompatible")
    req = CreateRequest(services=services, build=build or pull == "build", no_build=no_build,
                        force_recreate=force_recreate, no_recreate=no_recreate, remove_orphans=remove_orphans,
                        pull=pull, scale=_counts(tuple(s.replace(":", "=") for s in scale)))
    engine_create(g, req, sink=EventPrinter())


# -------------------------------------------------------------------------------------- container
def _container_create(run: click.Command) -> click.Command:
    """``container create``: ``container run``'s options (but ``-d``: it does not start)."""

    @click.pass_obj
    def body(opts: GlobalOptions, image: str, command: tuple[str, ...], **flags: Any) -> None:
        from stackfile.engine.container_change import create as engine_create
        from stackfile.engine.containers import RunOptions

        ro = RunOptions(image=image, command=command, **{k: v for k, v in flags.items() if k != "labels"},
                        labels=flags["labels"])
        click.echo(engine_create(_paths(opts), ro, opts.environ).id)

    params = [p for p in run.params if p.name != "detach"]
    return click.Command("create", callback=body, params=params, help="Create a new container (not started).",
                         context_settings={"allow_interspersed_args": False})


@click.command("update")
@click.option("-m", "--memory", metavar="SIZE", help="Memory limit (512m, 1g; 0 removes it).")
@click.option("--memory-swap", metavar="SIZE", help="Memory + swap limit (-1: unlimited swap).")
@click.option("--cpus", type=float, help="Number of CPUs (0 removes the limit).")
@click.option("-c", "--cpu-shares", type=int, help="CPU shares (relative weight; 0: the default).")
@click.option("--pids-limit", type=int, help="Maximum number of processes (-1: unlimited).")
@click.option("--memory-reservation", metavar="SIZE", help="Memory soft limit (0 removes it).")
@click.option("--restart", metavar="POLICY", help="no | always | on-failure[:N] | unless-stopped.")
@click.argument("refs", nargs=-1, required=True, metavar="CONTAINER...")
@click.pass_obj
def update(opts: GlobalOptions, refs: tuple[str, ...], memory: str | None, memory_swap: str | None,
           cpus: float | None, cpu_shares: int | None, pids_limit: int | None, memory_reservation: str | None,
           restart: str | None) -> int:
    """Update the resource limits and restart policy of containers (running ones at once)."""
    from stackfile.engine.container_change import UpdateRequest
    from stackfile.engine.container_change import update as engine_update
    from stackfile.errors import InvalidSpec, StackfileError

    req = UpdateRequest(memory=memory, memory_swap=memory_swap, cpus=cpus, cpu_shares=cpu_shares,
                        pids_limit=pids_limit, memory_reservation=memory_reservation, restart=restart)
    failed = 0
    for ref in refs:
        try:
            engine_update(_paths(opts), ref, req)
            click.echo(ref)
        except InvalidSpec:
            raise  # the same for every container: said once
        except StackfileError as exc:
            click.echo(f"error: {exc.render()}", err=True)
            failed = exc.exit_code
    return failed


@click.command("rename")
@click.argument("ref", metavar="CONTAINER")
@click.argument("name", metavar="NEW_NAME")
@click.pass_obj
def rename(opts: GlobalOptions, ref: str, name: str) -> None:
    """Rename a container (its DNS name too)."""
    from stackfile.engine.container_change import rename as engine_rename

    engine_rename(_paths(opts), ref, name)


def register_container(group: click.Group) -> None:
    """Add ``create``, ``update``, ``rename`` and ``attach`` to the ``container`` group."""
    from stackfile.cli.attach_cmd import container_attach

    group.add_command(_container_create(group.commands["run"]))
    for cmd in (update, rename, container_attach):
        group.add_command(cmd)


# ---------------------------------------------------------------------------------------- network
@click.command("connect")
@click.option("--alias", "aliases", multiple=True, help="Add a network-scoped alias for the container.")
@click.option("--ip", "ip", default=None, help="IPv4 address on that network.")
@click.argument("network", metavar="NETWORK")
@click.argument("container", metavar="CONTAINER")
@click.pass_obj
def connect(opts: GlobalOptions, network: str, container: str, aliases: tuple[str, ...],
            ip: str | None) -> None:
    """Connect a container to a network (a running one at once)."""
    from stackfile.engine.container_change import ConnectRequest
    from stackfile.engine.container_change import connect as engine_connect

    engine_connect(_paths(opts), ConnectRequest(network, container, aliases, ip))


@click.command("disconnect")
@click.option("-f", "--force", is_flag=True, help="Force the container to disconnect from a network.")
@click.argument("network", metavar="NETWORK")
@click.argument("container", metavar="CONTAINER")
@click.pass_obj
def disconnect(opts: GlobalOptions, network: str, container: str, force: bool) -> None:
    """Disconnect a container from a network."""
    from stackfile.engine.container_change import disconnect as engine_disconnect

    engine_disconnect(_paths(opts), network, container, force=force)


def register_network(group: click.Group) -> None:
    """Add ``connect`` and ``disconnect`` to the ``network`` group."""
    group.add_command(connect)
    group.add_command(disconnect)
