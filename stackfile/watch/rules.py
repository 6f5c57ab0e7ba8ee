"""``develop.watch`` rules as matchers over host paths.

A :class:`WatchRule` is one entry of a service's ``develop.watch`` with its path made absolute and
its pattern lists compiled. :meth:`WatchRule.match` answers, for one changed host path, whether the
rule fires and with which path relative to the rule's ``path``.
"""

from __future__ import annotations

import enum
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stackfile.errors import InvalidSpec, Location
from stackfile.watch.ignore import PathMatcher, default_ignored, load_context_ignore, patterns

if TYPE_CHECKING:
    from stackfile.spec.model import Service
    from stackfile.spec.model import WatchRule as ModelRule

__all__ = ["SYNC_ACTIONS", "Action", "WatchRule", "rules_for_service"]


class Action(enum.Enum):
    """What a rule does when a matching file changes (Compose's ``develop.watch[].action``)."""

    SYNC = "sync"
    SYNC_RESTART = "sync+restart"
    SYNC_EXEC = "sync+exec"
    RESTART = "restart"
    REBUILD = "rebuild"


SYNC_ACTIONS = frozenset({Action.SYNC, Action.SYNC_RESTART, Action.SYNC_EXEC})


@dataclass(frozen=True)
class WatchRule:
    """One watch rule of one service; ``path`` is absolute, ``target`` a container path."""

    service: str
    action: Action
    path: Path
    target: str | None = None
    ignore: PathMatcher | None = None
    include: PathMatcher | None = None  # "include" patterns: a match means *selected*
    initial_sync: bool = False
    exec_command: tuple[str, ...] = ()
    exec_user: str = ""
    exec_workdir: str = ""
    exec_env: tuple[tuple[str, str], ...] = ()
    index: int = 0  # position in develop.watch, for causes and error locations
    context: Path | None = None  # the build context, whose ignore file applies
    context_ignore: PathMatcher | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """``service.develop.watch[i]`` — how events and errors name the rule."""
        return f"{self.service}.develop.watch[{self.index}]"

    def relpath(self, path: str) -> str | None:
        """``path`` relative to the rule's path (``""`` for the path itself), None when outside."""
        base = str(self.path)
        if path == base:
            return ""
        if path.startswith(base.rstrip("/") + "/"):
            return path[len(base.rstrip("/")) + 1:]
        return None

    def match(self, path: str, is_dir: bool = False) -> str | None:
        """The relative path when a change of ``path`` fires this rule, else None."""
        rel = self.relpath(path)
        if rel is None or default_ignored(rel):
            return None
        if rel and self.ignore is not None and self.ignore.ignored(rel, is_dir):
            return None
        if rel and self.include is not None and not is_dir and not self.include.ignored(rel, is_dir):
            return None
        if self.context_ignore is not None and self.context is not None:
            crel = posixpath.relpath(path, str(self.context))
            if not crel.startswith("../") and crel != "." and self.context_ignore.ignored(crel, is_dir):
                return None
        return rel

    def container_path(self, rel: str) -> str:
        """Where the host file at ``rel`` (relative to ``path``) lives in the container."""
        assert self.target is not None
        return posixpath.normpath(posixpath.join(self.target, rel)) if rel else self.target


def rules_for_service(service: Service, project_dir: Path, *, context: Path | None = None,
                      dockerfile: str | None = None, file: str | None = None) -> list[WatchRule]:
    """Compile ``service.develop.watch``; relative paths are taken from ``project_dir``.

    ``context`` is the service's build context: its ignore file applies to every rule.
    """
    develop = service.develop
    if develop is None:
        return []
    context_ignore = load_context_ignore(context, dockerfile) if context is not None else None
    return [_compile(service.name, i, raw, project_dir, context, context_ignore, file)
            for i, raw in enumerate(develop.watch)]


def _compile(service: str, index: int, raw: ModelRule, project_dir: Path, context: Path | None,
             context_ignore: PathMatcher | None, file: str | None) -> WatchRule:
    action = Action(raw.action)
    key = f"services.{service}.develop.watch[{index}]"
    if action in SYNC_ACTIONS and not (raw.target and raw.target.startswith("/")):
        raise InvalidSpec(f"watch rule action {action.value!r} needs an absolute 'target' path in the "
                          f"container, got {raw.target!r}", location=Location(file, key_path=key + ".target"),
                          hint="e.g. target: /app/src")
    hook = raw.exec
    if action is Action.SYNC_EXEC and (hook is None or not hook.command):
        raise InvalidSpec("watch rule action 'sync+exec' needs 'exec.command'",
                          location=Location(file, key_path=key + ".exec"),
                          hint='e.g. exec: {command: ["kill", "-HUP", "1"]}')
    path = Path(os.path.normpath(project_dir / os.path.expanduser(raw.path)))
    return WatchRule(
        service=service, action=action, path=path,
        target=posixpath.normpath(raw.target) if raw.target else None,
        ignore=patterns(raw.ignore), include=patterns(raw.include), initial_sync=raw.initial_sync,
        exec_command=tuple(hook.command or ()) if hook else (),
        exec_user=(hook.user or "") if hook else "", exec_workdir=(hook.working_dir or "") if hook else "",
        exec_env=tuple(sorted((k, v) for k, v in hook.environment.items() if v is not None)) if hook else (),
        index=index, context=context, context_ignore=context_ignore,
    )
