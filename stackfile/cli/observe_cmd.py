"""Commands that observe: ``stats``, ``events``, ``wait``, ``volumes``, ``info`` and their
``container``/``system`` forms, with Docker's and Compose v2's flags and output.

Engine modules are imported inside the commands (the CLI start stays fast).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from stackfile.cli.completion_cmd import complete_services
from stackfile.cli.main import GlobalOptions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from stackfile.engine.stats import ContainerStats

# docker stats' default table
STATS_TABLE = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t"
               "{{.BlockIO}}\t{{.PIDs}}")
STATS_FIELDS = ("BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs")


def _check_format(fmt: str | None, names: tuple[str, ...] = ("table", "json")) -> None:
    from stackfile.cli.gotemplate import is_template

    if fmt and fmt not in names and not is_template(fmt):
        raise click.BadParameter(f"{fmt!r}: expected {', '.join(names)} or a Go template such as "
                                 "'{{.Name}}'", param_hint="--format")


# -- units, as docker/go-units prints them ---------------------------------------------------
def decimal_size(n: float) -> str:
    """``HumanSizeWithPrecision(n, 3)``: ``1.5kB``, ``12.3MB``."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1000 or unit == "EB":
            return f"{n:.3g}{unit}"
        n /= 1000
    return str(n)


def binary_size(n: float) -> str:
    """``BytesSize(n)``: ``1.199MiB``, ``7.7GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.4g}{unit}"
        n /= 1024
    return str(n)


# -- stats -----------------------------------------------------------------------------------
def stats_row(s: ContainerStats, *, trunc: bool = True, container: str = "") -> dict[str, str]:
    """One container's figures as ``docker stats --format json`` writes them."""
    return {"BlockIO": f"{decimal_size(s.block_read)} / {decimal_size(s.block_write)}",
            "CPUPerc": f"{s.cpu_percent:.2f}%", "Container": container or (s.id[:12] if trunc else s.id),
            "ID": s.id[:12] if trunc else s.id, "MemPerc": f"{s.memory_percent:.2f}%",
            "MemUsage": f"{binary_size(s.memory)} / {binary_size(s.memory_limit)}", "Name": s.name,
            "NetIO": f"{decimal_size(s.net_rx)} / {decimal_size(s.net_tx)}", "PIDs": str(s.pids)}


def _show_stats(series: Iterator[list[ContainerStats]], fmt: str | None, no_trunc: bool, live: bool,
                given: Mapping[str, str] | None = None) -> None:
    """Print each sample of ``series``; ``given``: container id → the reference the user typed."""
    from stackfile.cli.gotemplate import render

    for sample in series:
        rows = [stats_row(s, trunc=not no_trunc, container=(given or {}).get(s.id, "")) for s in sample]
        if fmt == "json":
            lines = [json.dumps(r, sort_keys=True) for r in rows]
        else:
            lines = render(fmt if fmt and fmt != "table" else STATS_TABLE, rows, STATS_FIELDS)
        if live:  # docker's redraw: cursor home, clear to the end of the screen
            click.echo("\x1b[H\x1b[J", nl=False)
        for line in lines:
            click.echo(line)


def _stats_options(fn: Any) -> Any:
    for option in reversed([
        click.option("-a", "--all", "all_", is_flag=True,
                     help="Show all containers (default shows just running)."),
        click.option("--no-stream", is_flag=True,
                     help="Disable streaming stats and only pull the first result."),
        click.option("--no-trunc", is_flag=True, help="Do not truncate output."),
        click.option("--format", "fmt", metavar="FORMAT",
                     help="table, json, or a Go template ('table {{.Name}}\\t{{.CPUPerc}}')."),
    ]):
        fn = option(fn)
    return fn


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@_stats_options
@click.pass_obj
def stats(g: GlobalOptions, services: tuple[str, ...], all_: bool, no_stream: bool, no_trunc: bool,
          fmt: str | None) -> None:
    """Display a live stream of the project's containers' resource usage."""
    from stackfile.engine.stats import project_stats

    _check_format(fmt)
    live = not no_stream and sys.stdout.isatty()
    series = project_stats(g, services, all=all_, interval=0.5 if no_stream else 1.0, stream=not no_stream)
    _show_stats(series, fmt, no_trunc, live)


@click.command("stats")
@click.argument("refs", nargs=-1)
@_stats_options
@click.pass_obj
def container_stats(g: GlobalOptions, refs: tuple[str, ...], all_: bool, no_stream: bool, no_trunc: bool,
                    fmt: str | None) -> None:
    """Display a live stream of containers' resource usage."""
    from stackfile.engine.containers import runtime
    from stackfile.engine.stats import containers_of
    from stackfile.engine.stats import stats as engine_stats
    from stackfile.store.paths import StorePaths

    _check_format(fmt)
    rt = runtime(StorePaths.at(g.root))
    live = not no_stream and sys.stdout.isatty()
    given = {rt.inspect(ref).id: ref for ref in refs}
    series = engine_stats(rt, containers_of(rt, refs, all=all_), interval=1.0 if not no_stream else 0.5,
                          stream=not no_stream)
    _show_stats(series, fmt, no_trunc, live, given)


# -- events ----------------------------------------------------------------------------------
EVENT_FIELDS = ("Type", "Action", "Actor", "ID", "Status", "From", "Scope", "Time", "TimeNano")


def _attrs_text(attributes: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(attributes.items()))


def docker_event_line(event: Any) -> str:
    """``docker events``' text line: ``2026-01-02T15:04:05.123456789Z container start ID (k=v, ...)``."""
    from stackfile.engine.log_time import rfc3339_ns

    attrs = _attrs_text(event.attributes)
    return f"{rfc3339_ns(event.time_ns)} {event.type} {event.action} {event.id} ({attrs})"


def compose_event(event: Any, service: str) -> dict[str, Any]:
    """``docker compose events --json``'s object."""
    from stackfile.engine.log_time import rfc3339_ns

    return {"time": rfc3339_ns(event.time_ns), "type": event.type, "action": event.action, "id": event.id,
            "service": service, "attributes": dict(event.attributes)}


def _compose_line(event: Any) -> str:
    import time

    seconds, ns = divmod(event.time_ns, 10**9)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) + f".{ns // 1000:06d}"
    return f"{stamp} {event.type} {event.action} {event.id} ({_attrs_text(event.attributes)})"


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("--json", "as_json", is_flag=True, help="Output events as a stream of json objects.")
@click.option("--since", metavar="TIME", help="Show all events created since timestamp.")
@click.option("--until", metavar="TIME", help="Stream events until this timestamp.")
@click.pass_obj
def events(g: GlobalOptions, services: tuple[str, ...], as_json: bool, since: str | None,
           until: str | None) -> None:
    """Receive real time events from the project's containers."""
    from stackfile.engine.events import events as engine_events
    from stackfile.engine.events import parse_time
    from stackfile.engine.project_context import open_project
    from stackfile.engine.project_ops import select
    from stackfile.reconcile import labels as L

    ctx = open_project(g, require_file=False)
    select(ctx, services)  # an unknown service is an error now
    filters = {"project": [ctx.name], **({"service": list(services)} if services else {})}
    since_ns, until_ns = parse_time(since, "since"), parse_time(until, "until")
    for event in engine_events(g.root, since_ns=since_ns, until_ns=until_ns, filters=filters):
        if as_json:
            service = event.attributes.get(L.SERVICE, event.attributes.get("service", ""))
            click.echo(json.dumps(compose_event(event, service)))
        else:
            click.echo(_compose_line(event))


@click.command("events")
@click.option("-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Filter output based on conditions provided (type, event, container, image, label, "
                   "network, volume, project, service, scope).")
@click.option("--format", "fmt", metavar="FORMAT",
              help="json, or a Go template ('{{.Action}} {{.Actor.ID}}').")
@click.option("--since", metavar="TIME", help="Show all events created since timestamp.")
@click.option("--until", metavar="TIME", help="Stream events until this timestamp.")
@click.pass_obj
def system_events(g: GlobalOptions, filters: tuple[str, ...], fmt: str | None, since: str | None,
                  until: str | None) -> None:
    """Get real time events from the engine."""
    from stackfile.cli.gotemplate import FormatTemplate
    from stackfile.engine.events import events as engine_events
    from stackfile.engine.events import parse_filters, parse_time

    _check_format(fmt, ("json",))
    template = FormatTemplate(fmt, EVENT_FIELDS) if fmt and fmt != "json" else None
    since_ns, until_ns = parse_time(since, "since"), parse_time(until, "until")
    for event in engine_events(g.root, since_ns=since_ns, until_ns=until_ns, filters=parse_filters(filters)):
        if fmt == "json":
            click.echo(json.dumps(event.to_docker()))
        elif template is not None:
            message = event.to_docker()
            row = {"Type": event.type, "Action": event.action, "Actor": message["Actor"], "ID": event.id,
                   "Status": event.action, "From": event.attributes.get("image", ""), "Scope": event.scope,
                   "Time": message["time"], "TimeNano": event.time_ns}
            for line in template.lines([row]):
                click.echo(line)
        else:
            click.echo(docker_event_line(event))


# -- info ------------------------------------------------------------------------------------
INFO_FIELDS = ("ID", "Name", "ServerVersion", "DockerRootDir", "Containers", "ContainersRunning",
               "ContainersPaused", "ContainersStopped", "Images", "Networks", "Volumes", "Driver",
               "DefaultRuntime", "KernelVersion", "OperatingSystem", "OSType", "Architecture", "NCPU",
               "MemTotal", "CgroupDriver", "CgroupVersion", "MemoryLimit", "PidsLimit", "CpuCfsQuota",
               "SecurityOptions", "Features")


def info_text(d: Mapping[str, Any]) -> list[str]:
    """``docker info``'s server section, with stackfile's counts and features."""
    f = d["Features"]
    yes = {True: "yes", False: "no"}
    return [
        "Server:",
        f" Containers: {d['Containers']}", f"  Running: {d['ContainersRunning']}",
        f"  Paused: {d['ContainersPaused']}", f"  Stopped: {d['ContainersStopped']}",
        f" Images: {d['Images']}", f" Networks: {d['Networks']}", f" Volumes: {d['Volumes']}",
        f" Server Version: {d['ServerVersion']}", f" Storage Driver: {d['Driver'] or 'none'}",
        f" Cgroup Driver: {d['CgroupDriver']}", f" Cgroup Version: {d['CgroupVersion']}",
        f" Cgroup Controllers: {' '.join(f['cgroup_controllers']) or 'none'}",
        f" Default Runtime: {d['DefaultRuntime']}",
        " Security Options:",
        *(f"  {opt.split(',')[0].removeprefix('name=')}" for opt in d["SecurityOptions"]),
        " Features:", *(f"  {name}: {yes[bool(f[name])]}" for name in
                        ("overlay", "openat2", "seccomp", "pidfd", "nftables", "iptables")),
        f" Kernel Version: {d['KernelVersion']}", f" Operating System: {d['OperatingSystem']}",
        f" OSType: {d['OSType']}", f" Architecture: {d['Architecture']}", f" CPUs: {d['NCPU']}",
        f" Total Memory: {binary_size(d['MemTotal'])}", f" Name: {d['Name']}",
        f" Docker Root Dir: {d['DockerRootDir']}",
    ]


@click.command()
@click.option("-f", "--format", "fmt", metavar="FORMAT",
              help="json, or a Go template ('{{.CgroupVersion}}').")
@click.pass_obj
def info(g: GlobalOptions, fmt: str | None) -> None:
    """Display system-wide information."""
    from stackfile.cli.gotemplate import render
    from stackfile.engine.system import system_info
    from stackfile.store.paths import StorePaths

    _check_format(fmt, ("json",))
    data = system_info(StorePaths.at(g.root)).to_docker()
    if fmt == "json":
        click.echo(json.dumps(data, sort_keys=True))
    elif fmt:
        for line in render(fmt, [data], INFO_FIELDS):
            click.echo(line)
    else:
        for line in info_text(data):
            click.echo(line)


# -- wait ------------------------------------------------------------------------------------
@click.command()
@click.argument("services", nargs=-1, required=True, shell_complete=complete_services)
@click.option("--down-project", is_flag=True, help="Drops project when the first container stops.")
@click.pass_obj
def wait(g: GlobalOptions, services: tuple[str, ...], down_project: bool) -> int:
    """Block until containers of all (or specified) services stop; exit with the last exit code."""
    from stackfile.engine.wait import project_wait

    code = 0
    for exited in project_wait(g, services, down_project=down_project):
        click.echo(f"container {json.dumps(exited.id)} exited with status code {exited.exit_code}")
        code = exited.exit_code
    return code


@click.command("wait")
@click.argument("refs", nargs=-1, required=True)
@click.pass_obj
def container_wait(g: GlobalOptions, refs: tuple[str, ...]) -> None:
    """Block until one or more containers stop, then print their exit codes (in the order given)."""
    from stackfile.engine.containers import runtime
    from stackfile.engine.wait import wait_all
    from stackfile.store.paths import StorePaths

    rt = runtime(StorePaths.at(g.root))
    for ref in refs:
        for exited in wait_all(rt, [ref]):
            click.echo(str(exited.exit_code))


# -- volumes, port, prune --------------------------------------------------------------------
VOLUME_FIELDS = ("Availability", "Driver", "Group", "Labels", "Links", "Mountpoint", "Name", "Scope", "Size",
                 "Status")


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("--format", "fmt", default="table", metavar="FORMAT",
              help="table, json, or a Go template ('{{.Name}}').")
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names.")
@click.pass_obj
def volumes(g: GlobalOptions, services: tuple[str, ...], fmt: str, quiet: bool) -> None:
    """List volumes of the project (those of the services given)."""
    from stackfile.cli.gotemplate import render
    from stackfile.engine.observe_ops import project_volumes

    _check_format(fmt)
    rows = project_volumes(g, services)
    if quiet:
        lines = [r["Name"] for r in rows]
    elif fmt == "json":
        lines = [json.dumps(r, sort_keys=True) for r in rows]
    else:
        lines = render("table {{.Driver}}\t{{.Name}}" if fmt == "table" else fmt, rows, VOLUME_FIELDS,
                       {"Name": "VOLUME NAME"})
    for line in lines:
        click.echo(line)


@click.command("port")
@click.argument("ref")
@click.argument("private_port", required=False, metavar="[PRIVATE_PORT[/PROTO]]")
@click.pass_obj
def container_port(g: GlobalOptions, ref: str, private_port: str | None) -> None:
    """List port mappings or a specific mapping for the container."""
    from stackfile.engine.observe_ops import container_ports
    from stackfile.store.paths import StorePaths

    for m in container_ports(StorePaths.at(g.root), ref, private_port):
        address = f"[{m.host_ip}]:{m.host_port}" if ":" in m.host_ip else f"{m.host_ip}:{m.host_port}"
        click.echo(address if private_port else f"{m.private}/{m.protocol} -> {address}")


@click.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Provide filter values (until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE]).")
@click.pass_obj
def container_prune(g: GlobalOptions, force: bool, filters: tuple[str, ...]) -> None:
    """Remove all stopped containers."""
    from stackfile.engine.observe_ops import parse_prune_filters, prune_containers
    from stackfile.store.paths import StorePaths

    parsed = parse_prune_filters(filters)
    if not force:
        try:
            sure = click.confirm("WARNING! This will remove all stopped containers.\n"
                                 "Are you sure you want to continue?", default=False)
        except click.exceptions.Abort:  # no answer (standard input closed): no, as Docker reads it
            sure = False
            click.echo()
        if not sure:
            return
    result = prune_containers(StorePaths.at(g.root), parsed)
    if result.deleted:
        click.echo("Deleted Containers:")
        for cid in result.deleted:
            click.echo(cid)
        click.echo()
    click.echo(f"Total reclaimed space: {decimal_size(result.reclaimed)}")


CONTAINER_COMMANDS = [container_stats, container_wait, container_port, container_prune]
SYSTEM_COMMANDS = [system_events, info]
