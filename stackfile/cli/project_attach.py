"""``up`` without ``-d``: multiplexed logs until the containers exit or Ctrl-C.

The first Ctrl-C stops the containers gracefully (stop signal, grace period) while their last lines
and exit codes are still shown, as Compose does; a second one kills them.
``--abort-on-container-exit`` stops everything when one container exits and ``--exit-code-from
SERVICE`` returns that service's exit code.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import click

from stackfile.cli.project_render import LogPrinter
from stackfile.engine.project_logs import DRAIN
from stackfile.errors import StackfileError

POLL = 0.25


def _watch(ctx: Any, ids: set[str], stop: threading.Event, abort: bool, codes: dict[str, int]) -> None:
    from stackfile.reconcile import labels as L

    while not stop.is_set():
        mine = [s for s in ctx.containers() if s.id in ids]
        exited = [s for s in mine if s.state.value in ("exited", "dead")]
        for s in exited:
            codes.setdefault(s.labels.get(L.SERVICE, ""), s.exit_code or 0)
        if (abort and exited) or len(exited) == len(mine):
            stop.set()
            return
        time.sleep(POLL)


def _start_watch(g: Any, services: list[str], stop: threading.Event) -> None:
    from stackfile.cli.watch_cmd import render_watch_event
    from stackfile.engine.watch import run_watch

    def body() -> None:
        try:  # the watcher's lines (what changed, which rule, what it did) among the logs
            run_watch(g, services, no_up=True, sink=render_watch_event, stop=stop)
        except Exception as exc:  # the watcher failing must not kill the attached session
            click.echo(f"watch stopped: {exc}", err=True)

    threading.Thread(target=body, daemon=True, name="watch").start()


def attach(g: Any, result: Any, *, abort: bool, exit_code_from: str | None, timeout: float | None,
           color: bool, prefix: bool, watch: bool = False) -> int:
    """Follow the logs of the services ``up`` started; returns the exit code for the CLI."""
    from stackfile.engine import project_ops
    from stackfile.engine.project_logs import follow_containers
    from stackfile.reconcile import labels as L

    ctx = result.context
    statuses = [s for s in ctx.containers() if s.labels.get(L.SERVICE) in result.services
                and s.labels.get(L.ONEOFF) != "True"]
    names = [s.name.removeprefix(f"{ctx.name}-") for s in statuses]
    printer = LogPrinter(names, color=None if color else False, prefix=prefix)
    stop = threading.Event()
    codes: dict[str, int] = {}
    threading.Thread(target=_watch, args=(ctx, {s.id for s in statuses}, stop, abort, codes),
                     daemon=True).start()
    watch_stop = threading.Event()
    if watch:
        _start_watch(g, list(result.services), watch_stop)

    def ended(status: Any) -> None:
        try:
            now = ctx.runtime.inspect(status.id)
        except StackfileError:
            return
        if now.state.value in ("exited", "dead"):
            click.echo(f"{status.name.removeprefix(f'{ctx.name}-')} exited with code {now.exit_code or 0}")

    followed = threading.Event()

    def pump() -> None:  # on its own thread, so that the lines keep coming while Ctrl-C stops
        try:
            for line in follow_containers(ctx, statuses, stop=stop, ended=ended):
                printer(line)
        finally:
            followed.set()

    threading.Thread(target=pump, daemon=True, name="logs").start()
    try:
        while not followed.wait(POLL):
            pass
    except KeyboardInterrupt:
        watch_stop.set()
        click.echo("Gracefully stopping... (press Ctrl+C again to force)", err=True)
        _stop_or_kill(g, tuple(result.services), timeout)
        followed.wait(2 * POLL + DRAIN)  # the last lines and exit codes
        return 130
    watch_stop.set()
    if abort:
        click.echo("Aborting on container exit...", err=True)
        project_ops.stop(g, tuple(result.services), timeout=timeout)
    if exit_code_from:
        return codes.get(exit_code_from, 0)
    return 0


def _stop_or_kill(g: Any, services: tuple[str, ...], timeout: float | None) -> None:
    """Stop ``services`` on a thread of its own; a second Ctrl-C kills them without waiting for it."""
    from stackfile.engine import project_ops

    errors: list[BaseException] = []

    def graceful() -> None:
        try:
            project_ops.stop(g, services, timeout=timeout)
        except BaseException as exc:
            errors.append(exc)

    stopper = threading.Thread(target=graceful, daemon=True, name="stop")
    stopper.start()
    try:
        while stopper.is_alive():
            stopper.join(POLL)
    except KeyboardInterrupt:
        project_ops.kill(g, services)
        stopper.join()
    if errors:
        raise errors[0]
