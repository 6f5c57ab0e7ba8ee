"""``stackfile watch``: up, then keep running containers in step with the host's files."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import click

from stackfile.cli.completion_cmd import complete_services
from stackfile.events import Event

_SHOWN = ("watch", "container", "image", "build", "network", "volume")


def render_watch_event(event: Event) -> None:
    """One line per event: time, then what happened (actions say file → rule → action → time)."""
    stamp = time.strftime("%H:%M:%S")
    kind = event.kind
    if kind == "watch.action":
        took = getattr(event, "seconds", 0.0) * 1000
        click.echo(f"{stamp} {click.style('✔', fg='green')} {event.message} ({took:.1f} ms)")
    elif kind == "watch.error":
        click.echo(f"{stamp} {click.style('✘', fg='red')} {event.message}", err=True)
    elif kind in ("watch.notice", "project.warning", "project.waiting"):
        click.echo(f"{stamp} {click.style('!', fg='yellow')} {event.message}", err=True)
    elif event.message and kind.split(".")[0] in _SHOWN:
        click.echo(f"{stamp}   {event.message}")


def _stop_on_signals(stop: threading.Event) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("--no-up", is_flag=True, help="Do not build and start the services first.")
@click.option("--prune", is_flag=True, help="After a rebuild, remove the old image if unnamed and unused.")
@click.option("-d", "--detach", is_flag=True, help="Watch in the background (stop it with --stop or 'down').")
@click.option("--poll", is_flag=True, help="Poll instead of using inotify (network file systems).")
@click.option("--stop", "stop_", is_flag=True, help="Stop the project's background watcher.")
@click.option("--detached-child", is_flag=True, hidden=True)
@click.pass_obj
def watch(obj: Any, services: tuple[str, ...], no_up: bool, prune: bool, detach: bool, poll: bool,
          stop_: bool, detached_child: bool) -> None:
    """Sync, restart or rebuild services as their develop.watch files change."""
    from stackfile.engine import watch as engine

    if stop_:
        from stackfile.engine.project_context import open_project

        ctx = open_project(obj, require_file=False)
        stopped = engine.stop_watch(ctx.paths, ctx.name)
        click.echo(f"stopped the watcher of {ctx.name}" if stopped else f"{ctx.name} is not being watched")
        return
    if detach:
        state = engine.start_detached_watch(obj, services, prune=prune, poll=poll, sink=render_watch_event)
        click.echo(f"watching in the background (pid {state.pid}); log: {state.log}")
        return
    stop = threading.Event()
    _stop_on_signals(stop)
    engine.run_watch(obj, services, no_up=no_up, prune=prune, poll=poll, detached=detached_child,
                     sink=render_watch_event, stop=stop)
