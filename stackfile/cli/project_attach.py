"""``up`` without ``-d``: multiplexed logs until the containers exit or Ctrl-C.

As Compose: ``Attaching to …`` first, then only this run's output (a second ``up`` does not replay
the old lines). The first Ctrl-C stops the containers gracefully (stop signal, grace period) while
their last lines and exit codes are still shown; a second one kills them.
``--abort-on-container-exit`` stops everything when one container exits and keeps streaming until
all have exited; ``up`` then returns the exit code of that first container, or with
``--exit-code-from SERVICE`` that service's.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import click

from stackfile.cli.project_render import EventPrinter, LogPrinter
from stackfile.engine.project_logs import DRAIN
from stackfile.errors import StackfileError

POLL = 0.25


class _Exits:
    """The exit code of each container that exited, in the order they exited."""

    def __init__(self) -> None:
        self.order: list[str] = []  # container ids
        self.service: dict[str, str] = {}
        self.code: dict[str, int] = {}

    def saw(self, status: Any, service: str) -> None:
        if status.id not in self.code:
            self.order.append(status.id)
        self.service[status.id] = service
        self.code[status.id] = status.exit_code or 0

    def first(self) -> int:
        return self.code[self.order[0]] if self.order else 0

    def of(self, service: str) -> int:
        return next((self.code[c] for c in self.order if self.service[c] == service), 0)


def _scan(ctx: Any, ids: set[str], exits: _Exits) -> tuple[int, int]:
    """Note the exits of the containers ``ids``; returns (how many there are, how many exited)."""
    from stackfile.reconcile import labels as L

    mine = [s for s in ctx.containers() if s.id in ids]
    exited = sorted((s for s in mine if s.state.value in ("exited", "dead")),
                    key=lambda s: s.finished_at or "")
    for s in exited:
        exits.saw(s, s.labels.get(L.SERVICE, ""))
    return len(mine), len(exited)


def _watch(ctx: Any, ids: set[str], done: threading.Event, aborting: threading.Event, abort: bool,
           exits: _Exits) -> None:
    """Poll the containers: ``aborting`` when one exits (with ``abort``), ``done`` when all have."""
    while not done.is_set():
        count, exited = _scan(ctx, ids, exits)
        if abort and exited:
            aborting.set()
        if exited == count:
            done.set()
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


def attached_containers(ctx: Any, services: list[str]) -> list[Any]:
    """The service containers ``up`` attaches to (one-offs are not), by name."""
    from stackfile.reconcile import labels as L

    return [s for s in ctx.containers(all=True) if s.labels.get(L.SERVICE) in services
            and s.labels.get(L.ONEOFF) != "True"]


def attaching_line(ctx: Any, statuses: list[Any]) -> None:
    """Compose's first line of an attached ``up``."""
    names = sorted(s.name.removeprefix(f"{ctx.name}-") for s in statuses)
    click.echo(f"Attaching to {', '.join(names)}")


def attach(g: Any, result: Any, *, abort: bool, exit_code_from: str | None, timeout: float | None,
           color: bool, prefix: bool, watch: bool = False, since_ns: int | None = None) -> int:
    """Follow the logs (from ``since_ns``: this run's) of the services ``up`` started; returns the
    exit code for the CLI."""
    from stackfile.engine.project_logs import follow_containers
    from stackfile.engine.project_logs import since_ns as to_since

    ctx = result.context
    statuses = attached_containers(ctx, list(result.services))
    attaching_line(ctx, statuses)
    since = to_since(since_ns) if since_ns is not None else None
    names = [s.name.removeprefix(f"{ctx.name}-") for s in statuses]
    printer = LogPrinter(names, color=None if color else False, prefix=prefix)
    done, aborting = threading.Event(), threading.Event()
    exits = _Exits()
    threading.Thread(target=_watch, args=(ctx, {s.id for s in statuses}, done, aborting, abort, exits),
                     daemon=True, name="exits").start()
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

    def pump() -> None:  # on its own thread, so that the lines keep coming while the stack stops
        try:
            for line in follow_containers(ctx, statuses, since=since, stop=done, ended=ended):
                printer(line)
        finally:
            followed.set()

    threading.Thread(target=pump, daemon=True, name="logs").start()
    try:
        while not followed.wait(POLL):
            if aborting.is_set():
                watch_stop.set()
                click.echo("Aborting on container exit...", err=True)
                _stop_or_kill(g, tuple(result.services), timeout)
                followed.wait()  # the lines and exit codes of the containers the stop ended
                break
    except KeyboardInterrupt:
        watch_stop.set()
        click.echo("Gracefully stopping... (press Ctrl+C again to force)", err=True)
        _stop_or_kill(g, tuple(result.services), timeout)
        followed.wait(2 * POLL + DRAIN)  # the last lines and exit codes
        return 130
    watch_stop.set()
    _scan(ctx, {s.id for s in statuses}, exits)  # the exits the poller had no time to see
    if exit_code_from:
        return exits.of(exit_code_from)
    return exits.first() if abort else 0


def show_after_failure(g: Any, options: Any, since_ns: int, *, color: bool, prefix: bool) -> None:
    """An attached ``up`` whose dependency failed still shows, as Compose does, ``Attaching to …``
    and what its containers said (and how they exited) before the error."""
    from stackfile.engine.project import attached_after_failure
    from stackfile.engine.project_logs import run_lines
    from stackfile.engine.project_logs import since_ns as to_since

    since = to_since(since_ns)

    def this_run(stamp: str | None) -> bool:  # both RFC 3339 UTC with 9 fraction digits
        return bool(stamp) and str(stamp) >= since

    try:
        ctx, services = attached_after_failure(g, options)
        statuses = attached_containers(ctx, services)
        if not any(this_run(s.created_at) or this_run(s.started_at) for s in statuses):
            return  # it failed before any container was made or started (a build): nothing to attach
        attaching_line(ctx, statuses)
        printer = LogPrinter([s.name.removeprefix(f"{ctx.name}-") for s in statuses],
                             color=None if color else False, prefix=prefix)
        for line in run_lines(ctx, statuses, since=since):
            printer(line)
        for s in statuses:
            if s.state.value in ("exited", "dead") and this_run(s.started_at):
                click.echo(f"{s.name.removeprefix(f'{ctx.name}-')} exited with code {s.exit_code or 0}")
    except StackfileError:  # the first error is the one to report
        return


def _stop_or_kill(g: Any, services: tuple[str, ...], timeout: float | None) -> None:
    """Stop ``services`` on a thread of its own; a second Ctrl-C kills them without waiting for it."""
    from stackfile.engine import project_ops

    errors: list[BaseException] = []

    def graceful() -> None:
        try:
            project_ops.stop(g, services, timeout=timeout, sink=EventPrinter())
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
