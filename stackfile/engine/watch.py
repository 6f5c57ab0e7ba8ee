"""The ``watch`` use case: bring the project up, then keep its containers in step with the host.

:func:`run_watch` blocks until ``stop`` is set (the CLI sets it on Ctrl-C / SIGTERM);
:func:`start_detached_watch` runs the same in a background process whose state ``ps`` shows
(:func:`watch_status`) and ``down`` ends (:func:`stop_watch`). :class:`EngineTarget` is the real
:class:`~stackfile.watch.actions.ActionTarget`: runtime restarts, exec, and ``up`` of one service
with a rebuild for ``rebuild`` rules.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from stackfile.engine.project_context import ProjectContext, open_project
from stackfile.errors import Conflict, InvalidSpec, Unavailable
from stackfile.events import Event, EventSink, discard
from stackfile.reconcile import labels as L
from stackfile.store.paths import StorePaths
from stackfile.watch.rules import WatchRule, rules_for_service
from stackfile.watch.session import WatchSession
from stackfile.watch.state import WatchState, clear_state, record_state, state_file, stop_watch, watch_status

__all__ = ["EngineTarget", "run_watch", "start_detached_watch", "stop_watch", "watch_rules", "watch_status"]


def watch_rules(ctx: ProjectContext, services: Sequence[str] = ()) -> list[WatchRule]:
    """The compiled ``develop.watch`` rules of ``services`` (all when empty)."""
    stack = ctx.require_stack()
    names = list(services) or stack.service_names()
    working_dir = Path(ctx.working_dir or ".")
    files = list(getattr(ctx.project, "files", None) or [])
    rules: list[WatchRule] = []
    for name in names:
        service = stack.service(name)
        context, dockerfile = _build_context(stack, service, working_dir)
        rules += rules_for_service(service, working_dir, context=context, dockerfile=dockerfile,
                                   file=files[0] if files else None)
    if not rules:
        raise InvalidSpec(f"none of the selected services ({', '.join(names) or 'none'}) has develop.watch "
                          "rules", hint="add e.g. develop: {watch: [{action: sync, path: ./src, target: "
                                        "/app/src}]} to a service")
    return rules


def _build_context(stack: Any, service: Any, working_dir: Path) -> tuple[Path | None, str | None]:
    build = service.build
    if build is not None and build.context:
        return working_dir / build.context, build.dockerfile
    recipe = (stack.images or {}).get(service.image or "")
    if recipe is not None and recipe.context:
        return working_dir / recipe.context, recipe.dockerfile
    return None, None


class EngineTarget:
    """Watch actions on a project's real containers."""

    def __init__(self, ctx: ProjectContext, opts: Any, sink: EventSink = discard, *,
                 prune: bool = False) -> None:
        self.ctx, self.opts, self.sink, self.prune = ctx, opts, sink, prune

    def _running(self, service: str) -> list[Any]:
        return [s for s in self.ctx.containers(all=False)
                if s.labels.get(L.SERVICE) == service and s.labels.get(L.ONEOFF) != "True"
                and s.state.value == "running"]

    def roots(self, service: str) -> list[str]:
        return [self.ctx.runtime.rootfs_path(s.id) for s in self._running(service)]

    def restart(self, service: str) -> None:
        from stackfile.engine.project_lock import changing

        with changing(self.ctx.paths, self.ctx.name, self.sink):  # not while a down removes them
            for status in self._running(service):
                self.ctx.runtime.restart(status.id)

    def exec(self, service: str, rule: WatchRule) -> int:
        from stackfile.runtime.api import ExecSpec

        spec = ExecSpec(argv=rule.exec_command, env=dict(rule.exec_env), cwd=rule.exec_workdir,
                        user=rule.exec_user)
        codes = [int(self.ctx.runtime.exec(s.id, spec)) for s in self._running(service)]
        return max(codes, default=0)

    def rebuild(self, service: str) -> None:
        from stackfile.engine.project import UpOptions, up
        from stackfile.reconcile.planner import PlanOptions

        old = {s.labels.get(L.IMAGE, "") for s in self._running(service)}
        only = PlanOptions(services=(service,), no_deps=True, build=True, force_recreate=True)
        up(self.opts, UpOptions(plan=only), sink=self.sink)
        if self.prune:
            self._prune(old - {""})

    def _prune(self, image_ids: set[str]) -> None:
        """Delete replaced images that lost their names and that no container uses (``--prune``)."""
        used = {s.labels.get(L.IMAGE, "") for s in self.ctx.runtime.list(all=True)}
        for image_id in sorted(image_ids - used):
            record = self.ctx.images.resolve(image_id)
            if record is None or record.names:
                continue  # gone already, or still named: not dangling
            self.ctx.images.remove(record.id)
            self.sink(Event("watch.notice", f"removed the replaced image {record.short_id}"))


def run_watch(opts: Any, services: Sequence[str] = (), *, no_up: bool = False, prune: bool = False,
              poll: bool = False, detached: bool = False, sink: EventSink = discard,
              stop: threading.Event | None = None, ready: threading.Event | None = None) -> None:
    """``up`` (unless ``no_up``), then watch until ``stop`` is set. ``up --watch`` calls this.

    A stack without watch rules, or one already watched, is refused before anything starts."""
    _refuse_early(opts, services, sink)
    if not no_up:
        _up(opts, services, sink)
    ctx = open_project(opts, sink=sink)
    rules = watch_rules(ctx, services)
    sink = journalling(ctx.paths.root_str, ctx.name, sink)
    session = WatchSession(rules, EngineTarget(ctx, opts, sink, prune=prune), sink, poll=poll)
    try:
        session.start()
        record_state(ctx.paths, ctx.name, tuple(sorted({r.service for r in rules})), detached=detached,
                     log=str(_log_path(ctx.paths, ctx.name)) if detached else "")
        if ready is not None:
            ready.set()
        (stop or threading.Event()).wait()
    finally:
        session.stop()
        clear_state(ctx.paths, ctx.name, os.getpid())


def journalling(root: str, project: str, sink: EventSink) -> EventSink:
    """``sink``, after recording each watch action (done or failed) in the store's event journal
    (type ``watch``, the action as its action, the project as its id; ``events`` shows them)."""
    from stackfile.store import journal
    from stackfile.watch.events import WatchAction, WatchFailed

    def record(event: Event) -> None:
        if isinstance(event, WatchAction | WatchFailed):
            attrs = {"project": project, "service": event.service, "files": ",".join(event.files[:20])}
            if isinstance(event, WatchFailed):
                attrs["error"] = event.error
            journal.record(root, "watch", event.action if isinstance(event, WatchAction)
                           else f"{event.action}: failed", project, attrs)
        sink(event)
    return record


def _refuse_early(opts: Any, services: Sequence[str], sink: EventSink) -> None:
    """No watch rules for ``services``, or a live watcher of another process: raise."""
    ctx = open_project(opts, sink=sink)
    watch_rules(ctx, services)
    live = watch_status(ctx.paths, ctx.name)
    if live is not None and live.pid != os.getpid():
        raise Conflict(f"project {ctx.name} is already watched by pid {live.pid} (since {live.started_at})",
                       hint="stop it with 'stackfile watch --stop' (or 'stackfile down')")


def _up(opts: Any, services: Sequence[str], sink: EventSink) -> None:
    from stackfile.engine.project import UpOptions, up
    from stackfile.reconcile.planner import PlanOptions

    up(opts, UpOptions(plan=PlanOptions(services=tuple(services))), sink=sink)


def _log_path(paths: StorePaths, project: str) -> Path:
    return paths.project(project) / "watch.log"


def start_detached_watch(opts: Any, services: Sequence[str] = (), *, no_up: bool = False,
                         prune: bool = False, poll: bool = False, sink: EventSink = discard,
                         timeout: float = 30.0) -> WatchState:
    """``up`` (unless ``no_up``), then run the watcher in a background process; returns once it
    is watching (its initial syncs done)."""
    _refuse_early(opts, services, sink)  # in the foreground, before up, what the child would refuse
    if not no_up:
        _up(opts, services, sink)
    ctx = open_project(opts, sink=sink)
    log = _log_path(ctx.paths, ctx.name)
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "stackfile", *_global_args(_with_name(opts, ctx.name)), "watch",
            "--no-up", "--detached-child", *(["--prune"] if prune else []), *(["--poll"] if poll else []),
            *services]
    with open(log, "ab") as out:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                 start_new_session=True, env=dict(getattr(opts, "environ", {}) or {}),
                                 cwd=ctx.working_dir or None)
    return _wait_started(ctx, child, log, timeout)


def _wait_started(ctx: ProjectContext, child: subprocess.Popen[bytes], log: Path,
                  timeout: float) -> WatchState:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = watch_status(ctx.paths, ctx.name)
        if state is not None and state.pid == child.pid:
            return state
        if child.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise Unavailable(f"the background watcher exited with {child.returncode}",
                              detail="\n".join(tail), hint=f"full log: {log}")
        time.sleep(0.01)
    raise Unavailable(f"the background watcher did not start within {timeout:.0f}s",
                      hint=f"see {log} and {state_file(ctx.paths, ctx.name)}")


def _with_name(opts: Any, name: str) -> Any:
    """The options with the project name fixed (so the child watches the same project)."""
    try:
        return replace(opts, project_name=name)
    except TypeError:
        return opts


def _global_args(opts: Any) -> list[str]:
    args: list[str] = []
    for f in getattr(opts, "files", None) or []:
        args += ["-f", os.path.abspath(f) if f != "-" else f]
    pairs = [("-p", getattr(opts, "project_name", None)),
             ("--project-directory", getattr(opts, "project_directory", None)),
             ("--env", getattr(opts, "environment_name", None)), ("--root", getattr(opts, "root", None))]
    args += [a for flag, value in pairs if value for a in (flag, str(value))]
    for env_file in getattr(opts, "env_files", None) or []:
        args += ["--env-file", os.path.abspath(env_file)]
    for profile in getattr(opts, "profiles", None) or []:
        args += ["--profile", profile]
    for key, value in sorted((getattr(opts, "template_vars", None) or {}).items()):
        args += ["--set", f"{key}={value}"]
    return args
