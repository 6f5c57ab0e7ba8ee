"""The Compose workflow commands: up, down, ps, logs, start, stop, restart, kill, rm, pause,
unpause, exec, run, top, port, images, ls. Each parses flags, calls ``stackfile.engine.project``
and renders; ``up``'s no-op fast path is tried before anything heavy is imported.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from stackfile.cli.completion_cmd import complete_services
from stackfile.cli.main import GlobalOptions
from stackfile.errors import StackfileError


def _parse_scale(items: tuple[str, ...]) -> dict[str, int]:
    out = {}
    for item in items:
        name, sep, num = item.partition("=")
        if not sep or not num.isdigit():
            raise click.BadParameter(f"expected SERVICE=NUMBER, got {item!r}", param_hint="--scale")
        out[name] = int(num)
    return out


def _parse_env(items: tuple[str, ...], environ: dict[str, str]) -> dict[str, str]:
    from stackfile.cli.kv import with_environment

    return with_environment(items, environ)


def _short(name: str, project: str) -> str:
    return name[len(project) + 1:] if name.startswith(project + "-") else name


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("-d", "--detach", is_flag=True, help="Run containers in the background.")
@click.option("--wait", is_flag=True, help="Wait for services to be running/healthy (implies -d).")
@click.option("--wait-timeout", type=float, help="Maximum seconds to wait with --wait.")
@click.option("--build", is_flag=True, help="Build images before starting containers.")
@click.option("--no-build", is_flag=True, help="Don't build an image, even if it's missing.")
@click.option("--force-recreate", is_flag=True, help="Recreate containers even if unchanged.")
@click.option("--no-recreate", is_flag=True, help="Don't recreate containers that exist.")
@click.option("--no-deps", is_flag=True, help="Don't start linked services.")
@click.option("--no-start", is_flag=True, help="Don't start the services after creating them.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers of services not in the file.")
@click.option("--dry-run", is_flag=True, help="Print the plan and do nothing.")
@click.option("--abort-on-container-exit", is_flag=True, help="Stop all containers if any exits.")
@click.option("--exit-code-from", metavar="SERVICE", help="Return the exit code of this service.")
@click.option("--scale", multiple=True, metavar="SERVICE=NUM", help="Scale a service (repeatable).")
@click.option("-t", "--timeout", type=float, help="Shutdown timeout in seconds.")
@click.option("--no-color", is_flag=True, help="Monochrome output.")
@click.option("--no-log-prefix", is_flag=True, help="Don't prefix log lines with the container.")
@click.option("-w", "--watch", is_flag=True, help="Watch files (develop.watch) and sync/rebuild/restart.")
@click.option("--quiet-pull", is_flag=True, hidden=True)
@click.pass_obj
def up(g: GlobalOptions, services: tuple[str, ...], detach: bool, wait: bool, wait_timeout: float | None,
       build: bool, no_build: bool, force_recreate: bool, no_recreate: bool, no_deps: bool, no_start: bool,
       remove_orphans: bool, dry_run: bool, abort_on_container_exit: bool, exit_code_from: str | None,
       scale: tuple[str, ...], timeout: float | None, no_color: bool, no_log_prefix: bool,
       watch: bool, quiet_pull: bool) -> int:
    """Create and start the stack's containers (only what changed)."""
    if force_recreate and no_recreate:
        raise click.UsageError("--force-recreate and --no-recreate are incompatible")
    if build and no_build:
        raise click.UsageError("--build and --no-build are incompatible")
    if (detach or wait) and (abort_on_container_exit or exit_code_from):
        raise click.UsageError("--detach cannot be combined with --abort-on-container-exit or "
                               "--exit-code-from")
    flags = {"services": services, "no_deps": no_deps, "force_recreate": force_recreate,
             "no_recreate": no_recreate, "remove_orphans": remove_orphans, "build": build,
             "no_build": no_build, "no_start": no_start, "scale": _parse_scale(scale)}
    detach = detach or wait
    if g.host:
        if not detach or dry_run or watch or scale:
            raise click.UsageError("through a daemon, up runs with -d or --wait "
                                   "(no --dry-run, --watch, --scale)")
        from stackfile.cli import remote

        return remote.up(g, {**{k: v for k, v in flags.items() if k != "scale"}, "services": list(services),
                             "wait": wait, "wait_timeout": wait_timeout, "timeout": timeout})
    if detach and not dry_run and not wait and not watch:
        from stackfile.cli.project_fast import report_running
        from stackfile.engine.project_fast import unchanged_entry

        entry = unchanged_entry(g, flags)
        if entry is not None:
            report_running([c["name"] for c in entry["containers"]])
            return 0
    from stackfile.reconcile.planner import PlanOptions

    plan_options = PlanOptions(**flags)  # type: ignore[arg-type]
    import time

    from stackfile.cli.project_render import EventPrinter
    from stackfile.engine.project import UpOptions
    from stackfile.engine.project import up as engine_up

    options = UpOptions(plan=plan_options, dry_run=dry_run, wait=wait, wait_timeout=wait_timeout,
                        timeout=timeout, exit_code_from=exit_code_from or "")
    started_ns = time.time_ns()  # an attached up shows this run's output, not the old lines
    try:
        result = engine_up(g, options, sink=EventPrinter())
    except StackfileError:
        if not (detach or dry_run or no_start):
            from stackfile.cli.project_attach import show_after_failure

            show_after_failure(g, options, started_ns, color=not no_color, prefix=not no_log_prefix)
        raise
    if dry_run:
        for warning in result.warnings:
            click.echo(f"WARN {warning}", err=True)
        text = str(result.plan)
        click.echo(text if text else "nothing to do", err=not text)
        return 0
    if watch and detach:
        from stackfile.engine.watch import start_detached_watch

        state = start_detached_watch(g, services, sink=EventPrinter())
        click.echo(f"watching in the background (pid {state.pid})", err=True)
        return 0
    if detach or no_start:
        return 0
    from stackfile.cli.project_attach import attach

    return attach(g, result, abort=abort_on_container_exit or bool(exit_code_from),
                  exit_code_from=exit_code_from, timeout=timeout, color=not no_color,
                  prefix=not no_log_prefix, watch=watch, since_ns=started_ns)


@click.command()
@click.option("-v", "--volumes", is_flag=True, help="Remove named volumes declared in the file.")
@click.option("--rmi", type=click.Choice(["local", "all"]), help="Remove images used by services.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers of services not in the file.")
@click.option("-t", "--timeout", type=float, help="Shutdown timeout in seconds.")
@click.option("--dry-run", is_flag=True, help="Print the plan and do nothing.")
@click.pass_obj
def down(g: GlobalOptions, volumes: bool, rmi: str | None, remove_orphans: bool, timeout: float | None,
         dry_run: bool) -> None:
    """Stop and remove containers, networks (and volumes, images)."""
    if g.host and not dry_run:
        from stackfile.cli import remote

        remote.down(g, {"volumes": volumes, "rmi": rmi or "", "remove_orphans": remove_orphans,
                        "timeout": timeout})
        return
    from stackfile.cli.project_render import EventPrinter
    from stackfile.engine.project import DownOptions
    from stackfile.engine.project import down as engine_down

    result = engine_down(g, DownOptions(volumes=volumes, rmi=rmi or "", remove_orphans=remove_orphans,
                                        timeout=timeout, dry_run=dry_run), sink=EventPrinter())
    if dry_run:
        for warning in result.warnings:
            click.echo(f"WARN {warning}", err=True)
        click.echo(str(result.plan) or "nothing to do")


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("-a", "--all", "all_", is_flag=True, help="Show stopped containers too.")
@click.option("--format", "fmt", default="table", metavar="FORMAT",
              help="table, json, or a Go template: '{{.Name}} {{.State}}', 'table {{.Name}}\\t{{.Service}}'.")
@click.option("-q", "--quiet", is_flag=True, help="Only show IDs.")
@click.option("--services", "only_services", is_flag=True, help="Only show service names.")
@click.option("--status", multiple=True, help="Filter by state (repeatable).",
              type=click.Choice(["paused", "restarting", "removing", "running", "dead", "created", "exited"]))
@click.pass_obj
def ps(g: GlobalOptions, services: tuple[str, ...], all_: bool, fmt: str, quiet: bool, only_services: bool,
       status: tuple[str, ...]) -> None:
    """List the project's containers."""
    from stackfile.cli.gotemplate import is_template

    if fmt not in ("table", "json") and not is_template(fmt):
        raise click.BadParameter(f"{fmt!r}: expected table, json or a Go template such as '{{{{.Name}}}}'",
                                 param_hint="--format")
    from stackfile.engine.project_status import ps_report

    if g.host:
        from stackfile.cli.remote import project_rows

        rows, watcher = project_rows(g, services, all=all_ or bool(status), status=status), None
    else:
        rows, watcher = ps_report(g, services, all=all_ or bool(status), status_filter=status)
    if quiet:
        for r in rows:
            click.echo(r["ID"])
    elif only_services:
        for name in sorted({r["Service"] for r in rows}):
            click.echo(name)
    elif fmt == "json":
        for r in rows:
            click.echo(json.dumps(r, sort_keys=True))
    elif is_template(fmt):
        from stackfile.cli.project_render import ps_template

        for line in ps_template(fmt, rows):
            click.echo(line)
    else:
        from stackfile.cli.project_render import ps_table

        ps_table(rows)
        if watcher is not None:
            click.echo(_watcher_line(watcher))


def _watcher_line(w: dict[str, Any]) -> str:
    """``ps``'s line for the project's file watcher."""
    mode = "detached" if w["Detached"] else "attached"
    services = ", ".join(w["Services"]) or "-"
    log = f", log {w['Log']}" if w["Log"] else ""
    return f"watch: pid {w['Pid']} ({mode}), {w['Status']}, services: {services}{log}"


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("-n", "--tail", default="all", help="Number of lines from the end (or 'all').")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--since", help="Show logs since a timestamp (RFC 3339) or relative (42m).")
@click.option("--until", help="Show logs before a timestamp (RFC 3339) or relative (42m).")
@click.option("--no-color", is_flag=True, help="Produce monochrome output.")
@click.option("--no-log-prefix", is_flag=True, help="Don't print a prefix in logs.")
@click.pass_obj
def logs(g: GlobalOptions, services: tuple[str, ...], follow: bool, tail: str, timestamps: bool,
         since: str | None, until: str | None, no_color: bool, no_log_prefix: bool) -> None:
    """Show the containers' output."""
    from stackfile.cli.project_render import LogPrinter
    from stackfile.engine.project_logs import logs as engine_logs

    if tail != "all" and not tail.isdigit():
        raise click.BadParameter("a number or 'all'", param_hint="--tail")
    if g.host:
        from stackfile.cli.remote import logs as remote_logs

        lines: Any = remote_logs(g, services, follow=follow, tail=None if tail == "all" else int(tail),
                                 since=since, until=until)
    else:
        lines = engine_logs(g, services, follow=follow, tail=None if tail == "all" else int(tail),
                            since=since, until=until)
    printer: LogPrinter | None = None
    try:
        for line in lines:
            if printer is None:
                printer = LogPrinter([], color=None if not no_color else False, prefix=not no_log_prefix,
                                     timestamps=timestamps)
            printer(line)
    except KeyboardInterrupt:
        return


def _simple(verb: str, help_text: str, extra: list[Any] | None = None) -> click.Command:
    @click.pass_obj
    def command(g: GlobalOptions, services: tuple[str, ...], **kwargs: Any) -> None:
        from stackfile.cli.project_render import EventPrinter
        from stackfile.engine import project_ops

        getattr(project_ops, verb)(g, services, sink=EventPrinter(), **kwargs)

    command.__doc__ = help_text
    cmd = click.command(name=verb, help=help_text)(command)
    cmd = click.argument("services", nargs=-1, shell_complete=complete_services)(cmd)
    for decorator in extra or []:
        cmd = decorator(cmd)
    return cmd


_timeout = click.option("-t", "--timeout", type=float, help="Shutdown timeout in seconds.")
start = _simple("start", "Start existing containers.")
stop = _simple("stop", "Stop running containers.", [_timeout])
restart = _simple("restart", "Restart containers.", [_timeout])
kill = _simple("kill", "Send a signal to containers (default SIGKILL).",
               [click.option("-s", "--signal", default="SIGKILL", help="Signal to send.")])
pause = _simple("pause", "Pause containers.")
unpause = _simple("unpause", "Unpause containers.")


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("-f", "--force", is_flag=True, help="Don't ask to confirm.")
@click.option("-s", "--stop", "stop_first", is_flag=True, help="Stop the containers first.")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes too.")
@click.pass_obj
def rm(g: GlobalOptions, services: tuple[str, ...], force: bool, stop_first: bool, volumes: bool) -> None:
    """Remove stopped containers."""
    from stackfile.cli.project_render import EventPrinter
    from stackfile.engine import project_ops

    if not force:
        names = project_ops.rm(g, services, stop_first=False, dry_run=True)
        if not names and not stop_first:
            click.echo("No stopped containers", err=True)
            return
        if names and not click.confirm(f"Going to remove {', '.join(names)}. Are you sure?", err=True):
            return
    project_ops.rm(g, services, stop_first=stop_first, volumes=volumes, sink=EventPrinter())


@click.command(name="exec", context_settings={"allow_interspersed_args": False})
@click.argument("service", shell_complete=complete_services)
@click.argument("command", nargs=-1, required=True)
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="Don't allocate a TTY.")
@click.option("-u", "--user", default="", help="Run as this user.")
@click.option("-w", "--workdir", default="", help="Working directory.")
@click.option("-e", "--env", multiple=True, metavar="KEY[=VAL]", help="Set environment variables.")
@click.option("--index", type=int, default=1, help="Container index of the service.")
@click.option("-d", "--detach", is_flag=True, help="Run in the background.")
@click.option("--privileged", is_flag=True, help="Give extended privileges.")
@click.pass_obj
def exec_(g: GlobalOptions, service: str, command: tuple[str, ...], no_tty: bool, user: str, workdir: str,
          env: tuple[str, ...], index: int, detach: bool, privileged: bool) -> int:
    """Run a command in a running service container."""
    if g.host:
        if detach:
            raise click.UsageError("through a daemon, exec runs attached (no -d)")
        from stackfile.cli.remote import exec_ as remote_exec

        return remote_exec(g, {"service": service, "command": list(command), "index": index, "user": user,
                               "workdir": workdir, "env": _parse_env(env, g.environ),
                               "privileged": privileged})
    from stackfile.engine.project_ops import ExecOptions
    from stackfile.engine.project_ops import exec_ as engine_exec

    tty = not no_tty and not detach and sys.stdin.isatty() and sys.stdout.isatty()
    return engine_exec(g, service, list(command), ExecOptions(
        index=index, user=user, workdir=workdir, env=_parse_env(env, g.environ), tty=tty,
        interactive=not detach, detach=detach, privileged=privileged))


@click.command(context_settings={"allow_interspersed_args": False})
@click.argument("service", shell_complete=complete_services)
@click.argument("command", nargs=-1)
@click.option("--rm", "remove", is_flag=True, help="Remove the container when it exits.")
@click.option("-d", "--detach", is_flag=True, help="Run in the background and print the container ID.")
@click.option("--name", default="", help="Container name.")
@click.option("--entrypoint", default=None, help="Override the entrypoint.")
@click.option("-u", "--user", default="", help="Run as this user.")
@click.option("-w", "--workdir", default="", help="Working directory.")
@click.option("-e", "--env", multiple=True, metavar="KEY[=VAL]", help="Set environment variables.")
@click.option("-l", "--label", multiple=True, metavar="KEY=VAL", help="Add labels.")
@click.option("-P", "--service-ports", is_flag=True, help="Publish the service's ports.")
@click.option("--no-deps", is_flag=True, help="Don't start linked services.")
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="Don't allocate a TTY.")
@click.pass_obj
def run(g: GlobalOptions, service: str, command: tuple[str, ...], remove: bool, detach: bool, name: str,
        entrypoint: str | None, user: str, workdir: str, env: tuple[str, ...], label: tuple[str, ...],
        service_ports: bool, no_deps: bool, no_tty: bool) -> int:
    """Run a one-off command in a new container of a service."""
    import shlex

    from stackfile.cli.project_render import EventPrinter
    from stackfile.engine.project_ops import RunOptions
    from stackfile.engine.project_ops import run as engine_run

    tty = not no_tty and not detach and sys.stdin.isatty() and sys.stdout.isatty()
    labels = dict(item.partition("=")[::2] for item in label)
    options = RunOptions(remove=remove, detach=detach, name=name,
                         entrypoint=shlex.split(entrypoint) if entrypoint is not None else None, user=user,
                         workdir=workdir, env=_parse_env(env, g.environ), service_ports=service_ports,
                         no_deps=no_deps, tty=tty, interactive=not detach, labels=labels)
    container, code = engine_run(g, service, list(command), options, sink=EventPrinter(quiet=True))
    if detach:
        click.echo(container)
    return code


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.pass_obj
def top(g: GlobalOptions, services: tuple[str, ...]) -> None:
    """Show the processes of running containers."""
    from stackfile.cli.project_render import table
    from stackfile.engine.project_ops import top as engine_top

    for name, rows in engine_top(g, services).items():
        click.echo(name)
        cols = list(rows[0]) if rows else ["PID", "USER", "TIME", "CMD"]
        table(rows, [(c, c) for c in cols])
        click.echo()


@click.command()
@click.argument("service", shell_complete=complete_services)
@click.argument("private_port", type=int)
@click.option("--protocol", type=click.Choice(["tcp", "udp"]), default="tcp", help="tcp or udp.")
@click.option("--index", type=int, default=1, help="Container index of the service.")
@click.pass_obj
def port(g: GlobalOptions, service: str, private_port: int, protocol: str, index: int) -> None:
    """Print the public address a container port is published on."""
    from stackfile.engine.project_ops import port as engine_port

    click.echo(engine_port(g, service, private_port, protocol=protocol, index=index))


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.pass_obj
def images(g: GlobalOptions, services: tuple[str, ...], fmt: str, quiet: bool) -> None:
    """List images used by the project's containers."""
    from stackfile.engine.project_ops import images as engine_images

    rows = engine_images(g, services)
    if quiet:
        for i in sorted({r["ID"] for r in rows}):
            click.echo(i)
    elif fmt == "json":
        click.echo(json.dumps(rows, sort_keys=True))
    else:
        from stackfile.cli.project_render import table
        from stackfile.cli.term import human_size

        table([{**r, "Size": human_size(r["Size"])} for r in rows],
              [("ContainerName", "CONTAINER"), ("Repository", "REPOSITORY"), ("Tag", "TAG"),
               ("ID", "IMAGE ID"), ("Size", "SIZE")])


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Show stopped projects too.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@click.option("-q", "--quiet", is_flag=True, help="Only show names.")
@click.pass_obj
def ls(g: GlobalOptions, all_: bool, fmt: str, quiet: bool) -> None:
    """List projects."""
    from stackfile.engine.project_ops import ls as engine_ls

    rows = engine_ls(g.root, all=all_)
    if quiet:
        for r in rows:
            click.echo(r["Name"])
    elif fmt == "json":
        click.echo(json.dumps(rows, sort_keys=True))
    else:
        from stackfile.cli.project_render import table

        table(rows, [("Name", "NAME"), ("Status", "STATUS"), ("ConfigFiles", "CONFIG FILES")])
