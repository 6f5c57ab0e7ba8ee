"""``stackfile container ...``: run and manage single containers with the built-in runtime."""

from __future__ import annotations

import json
from typing import Any

import click

from stackfile.cli.container_fast import done, run_command
from stackfile.cli.lazy import add_lazy
from stackfile.cli.main import GlobalOptions
from stackfile.engine import containers as engine
from stackfile.store.paths import StorePaths

pass_opts = click.pass_obj


def _paths(opts: GlobalOptions) -> StorePaths:
    return StorePaths.at(opts.root)


def _each(opts: GlobalOptions, refs: tuple[str, ...], action: Any, remote: Any = None) -> int:
    """Apply ``action(runtime, ref)`` (through a daemon: ``remote(client, ref)``) to every ref; print
    the ref on success, keep going on errors."""
    from stackfile.errors import StackfileError

    if opts.host and remote is not None:
        from stackfile.cli.remote import client

        rt: Any = client(opts)
        action = remote
    else:
        rt = engine.runtime(_paths(opts))
    failed = 0
    for ref in refs:
        try:
            action(rt, ref)
            click.echo(ref)
        except StackfileError as exc:
            click.echo(f"error: {exc.render()}", err=True)
            failed = exc.exit_code
    return failed


@click.group()
def container() -> None:
    """Run and manage single containers."""


add_lazy(container, {name: f"stackfile.cli.fs_cmd:container_{name}"  # a container's files
                     for name in ("cp", "diff", "export", "commit")})


@container.command(context_settings={"allow_interspersed_args": False})
@click.option("--rm", is_flag=True, help="Remove the container when it exits.")
@click.option("-d", "--detach", is_flag=True, help="Run in the background and print the id.")
@click.option("--name", default="", help="Container name.")
@click.option("-e", "--env", multiple=True, metavar="KEY[=VALUE]", help="Set an environment variable.")
@click.option("--env-file", "env_files", multiple=True, metavar="FILE", help="Read variables from a file.")
@click.option("-m", "--memory", metavar="SIZE", help="Memory limit (512m, 1g).")
@click.option("--cpus", type=float, help="CPU quota in CPUs (0.5 = half a core).")
@click.option("--pids-limit", type=int, help="Maximum number of processes.")
@click.option("--hostname", default="", help="Container host name.")
@click.option("-u", "--user", default=None, help="User name or uid[:gid].")
@click.option("-w", "--workdir", default=None, help="Working directory inside the container.")
@click.option("-i", "--interactive", is_flag=True, help="Keep stdin open.")
@click.option("-t", "--tty", is_flag=True, help="Use the terminal (foreground) or a pty (detached).")
@click.option("--network", default="none", type=click.Choice(["none", "host"]), help="Network mode.")
@click.option("--init", is_flag=True, help="Run a reaping init as PID 1.")
@click.option("--read-only", is_flag=True, help="Mount the root filesystem read-only.")
@click.option("--cap-add", multiple=True, help="Add a capability (or ALL).")
@click.option("--cap-drop", multiple=True, help="Drop a capability (or ALL).")
@click.option("--privileged", is_flag=True, help="All capabilities, no masked paths.")
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Set a label.")
@click.option("--restart", default="no", help="no | always | on-failure[:N] | unless-stopped.")
@click.option("--entrypoint", default=None, help="Override the image's entrypoint.")
@click.option("-v", "--volume", "volumes", multiple=True, metavar="HOST:CTR[:ro]", help="Bind a host path.")
@click.option("--tmpfs", multiple=True, metavar="PATH[:OPTS]", help="Mount a tmpfs (size=64m,mode=1777).")
@click.option("--sysctl", "sysctls", multiple=True, metavar="KEY=VALUE", help="Namespaced sysctl.")
@click.option("--ulimit", "ulimits", multiple=True, metavar="NAME=SOFT[:HARD]", help="Resource limit.")
@click.option("--shm-size", metavar="SIZE", help="Size of /dev/shm (default 64m).")
@click.option("--memory-swap", metavar="SIZE", help="Memory + swap limit (-1: unlimited).")
@click.option("--cpu-shares", type=int, help="Relative CPU weight.")
@click.option("--stop-signal", help="Signal to stop the container (default SIGTERM or the image's).")
@click.option("--stop-timeout", type=float, help="Seconds to wait after the stop signal (default 10).")
@click.option("--security-opt", "security_opt", multiple=True, metavar="OPT",
              help="seccomp=unconfined to turn off the default seccomp filter.")
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@pass_opts
def run(opts: GlobalOptions, image: str, command: tuple[str, ...], **flags: Any) -> int:
    """Run a command in a new container."""
    ro = engine.RunOptions(image=image, command=command, **{k: v for k, v in flags.items() if k != "labels"},
                           labels=flags["labels"])
    if opts.host:
        from stackfile.cli.remote import container_run

        return done(container_run(opts, ro))
    return done(run_command(opts.root, ro, opts.environ))


def _age(stamp: str | None) -> str:
    if not stamp:
        return ""
    seconds = max(0, int(engine.age_seconds(stamp)))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n > 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _status_text(st: dict[str, Any]) -> str:
    state = st["State"]
    if state == "running":
        return f"Up {_age(st['StartedAt'])}"
    if state == "paused":
        return f"Up {_age(st['StartedAt'])} (Paused)"
    if state == "exited":
        return f"Exited ({st['ExitCode']}) {_age(st['FinishedAt'])} ago" if st["FinishedAt"] else "Exited"
    return str(state).capitalize()


def _as_dict(st: Any) -> dict[str, Any]:
    return {"Id": st.id, "Name": st.name, "Image": st.image, "Command": list(st.command),
            "State": st.state.value, "Pid": st.pid, "ExitCode": st.exit_code, "OOMKilled": st.oom_killed,
            "Created": st.created_at, "StartedAt": st.started_at, "FinishedAt": st.finished_at,
            "RestartCount": st.restart_count, "Labels": dict(st.labels), "Error": st.error}


@container.command("ls")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show stopped containers too.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="Output format.")
@click.option("--filter", "filters", multiple=True, metavar="label=KEY=VALUE", help="Filter by label.")
@click.option("-q", "--quiet", is_flag=True, help="Only ids.")
@pass_opts
def ls(opts: GlobalOptions, show_all: bool, fmt: str, filters: tuple[str, ...], quiet: bool) -> None:
    """List containers."""
    labels = {}
    for f in filters:
        kind, _, rest = f.partition("=")
        if kind != "label":
            raise click.BadParameter(f"unsupported filter {f!r} (label=KEY=VALUE)", param_hint="--filter")
        key, _, value = rest.partition("=")
        labels[key] = value
    if opts.host:
        from stackfile.cli.remote import client

        items = client(opts).containers(all=show_all, labels=labels)
    else:
        items = [_as_dict(st) for st in engine.runtime(_paths(opts)).list(all=show_all, labels=labels)]
    if quiet:
        for st in items:
            click.echo(st["Id"][:12])
    elif fmt == "json":
        click.echo(json.dumps(items, indent=2))
    else:
        rows = [("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES")]
        rows += [(st["Id"][:12], st["Image"], json.dumps(" ".join(st["Command"])[:20]),
                  _age(st["Created"]) + " ago", _status_text(st), st["Name"]) for st in items]
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        for r in rows:
            click.echo("   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


@container.command()
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("--tail", default="all", help="Number of lines from the end, or 'all'.")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--since", default=None, help="RFC 3339 time, Unix time, or a duration like 10m.")
@click.argument("ref")
@pass_opts
def logs(opts: GlobalOptions, ref: str, follow: bool, tail: str, timestamps: bool, since: str | None) -> None:
    """Show a container's output."""
    if tail != "all" and not tail.isdigit():
        raise click.BadParameter("a number or 'all'", param_hint="--tail")
    count = None if tail == "all" else int(tail)
    if opts.host:
        from stackfile.cli.remote import client, log_lines

        lines: Any = log_lines(client(opts).logs(ref, follow=follow, tail=count, since=since))
    else:
        lines = engine.logs(_paths(opts), ref, follow=follow, tail=count, since=since)
    for line in lines:
        text = f"{line.time} {line.text}" if timestamps else line.text
        click.echo(text, err=line.stream == "stderr")


@container.command("exec", context_settings={"allow_interspersed_args": False})
@click.option("-i", "--interactive", is_flag=True, help="Keep stdin open.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-terminal.")
@click.option("-d", "--detach", is_flag=True, help="Run the command in the background.")
@click.option("-u", "--user", default="", help="User name or uid[:gid].")
@click.option("-w", "--workdir", default="", help="Working directory inside the container.")
@click.option("-e", "--env", multiple=True, metavar="KEY[=VALUE]", help="Set an environment variable.")
@click.option("--privileged", is_flag=True, help="All capabilities, no masked paths.")
@click.argument("ref")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_opts
def exec_(opts: GlobalOptions, ref: str, command: tuple[str, ...], **flags: Any) -> int:
    """Run a command in a running container."""
    try:
        return engine.exec_in(_paths(opts), ref, command, environ=opts.environ, **flags)
    except engine.StartFailed as exc:
        click.echo(f"error: {exc.render()}", err=True)
        return exc.code


@container.command()
@click.option("-t", "--time", "timeout", type=float, default=None, help="Seconds to wait before SIGKILL.")
@click.argument("refs", nargs=-1, required=True)
@pass_opts
def stop(opts: GlobalOptions, refs: tuple[str, ...], timeout: float | None) -> int:
    """Stop containers (stop signal, grace period, SIGKILL)."""
    from stackfile.engine import container_lifecycle as life

    return _each(opts, refs, lambda _rt, r: life.stop(_paths(opts), r, timeout),
                 lambda api, r: api.stop(r, timeout))


@container.command()
@click.argument("refs", nargs=-1, required=True)
@pass_opts
def start(opts: GlobalOptions, refs: tuple[str, ...]) -> int:
    """Start stopped containers."""
    from stackfile.engine import container_lifecycle as life

    return _each(opts, refs, lambda _rt, r: life.start(_paths(opts), r))


@container.command()
@click.option("-t", "--time", "timeout", type=float, default=None, help="Seconds to wait before SIGKILL.")
@click.argument("refs", nargs=-1, required=True)
@pass_opts
def restart(opts: GlobalOptions, refs: tuple[str, ...], timeout: float | None) -> int:
    """Restart containers."""
    from stackfile.engine import container_lifecycle as life

    return _each(opts, refs, lambda _rt, r: life.restart(_paths(opts), r, timeout))


@container.command()
@click.option("-s", "--signal", "sig", default="SIGKILL", help="Signal to send.")
@click.argument("refs", nargs=-1, required=True)
@pass_opts
def kill(opts: GlobalOptions, refs: tuple[str, ...], sig: str) -> int:
    """Send a signal to containers."""
    return _each(opts, refs, lambda rt, r: rt.kill(r, sig), lambda api, r: api.kill(r, sig))


@container.command()
@click.option("-f", "--force", is_flag=True, help="Kill running containers first.")
@click.argument("refs", nargs=-1, required=True)
@pass_opts
def rm(opts: GlobalOptions, refs: tuple[str, ...], force: bool) -> int:
    """Remove containers."""
    from stackfile.engine import container_lifecycle as life

    return _each(opts, refs, lambda _rt, r: life.remove(_paths(opts), r, force=force),
                 lambda api, r: api.remove(r, force=force))


@container.command()
@click.argument("refs", nargs=-1, required=True)
@pass_opts
def pause(opts: GlobalOptions, refs: tuple[str, ...]) -> int:
    """Freeze every process of containers."""
    return _each(opts, refs, lambda rt, r: rt.pause(r))


@container.command()
@click.argument("refs", nargs=-1, required=True)
@pass_opts
def unpause(opts: GlobalOptions, refs: tuple[str, ...]) -> int:
    """Thaw paused containers."""
    return _each(opts, refs, lambda rt, r: rt.unpause(r))


@container.command()
@click.argument("refs", nargs=-1, required=True)
@pass_opts
def inspect(opts: GlobalOptions, refs: tuple[str, ...]) -> None:
    """Show containers' state and configuration as JSON."""
    from stackfile.engine.container_change import network_settings

    rt = engine.runtime(_paths(opts))
    out = []
    for ref in refs:
        st = rt.inspect(ref)
        out.append({**_as_dict(st), "Config": engine.spec_dict(rt, st.id),
                    "NetworkSettings": network_settings(_paths(opts), st.id)})
    click.echo(json.dumps(out, indent=2, default=str))


@container.command()
@click.argument("ref")
@pass_opts
def top(opts: GlobalOptions, ref: str) -> None:
    """Show a container's processes (host pids)."""
    procs = engine.runtime(_paths(opts)).top(ref)
    cols = ("PID", "PPID", "USER", "TIME", "CMD")
    rows = [cols, *[tuple(p[c] for c in cols) for p in procs]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols) - 1)]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1])


def _register_changes() -> None:
    """``create``/``update``/``rename``/``attach`` and ``connect``/``disconnect`` live in
    :mod:`stackfile.cli.change_cmd`."""
    from stackfile.cli.change_cmd import register_container

    register_container(container)


_register_changes()


def _observing() -> None:
    """``container stats|wait|port|prune`` live in :mod:`stackfile.cli.observe_cmd`."""
    from stackfile.cli import observe_cmd

    for command in observe_cmd.CONTAINER_COMMANDS:
        container.add_command(command)


_observing()
