"""The plan: atomic actions, each with a target, a kind and a cause, in a DAG.

``str(plan)`` is stable and is both the ``--dry-run`` output and the golden text of the tests,
in docker compose's shape::

    #1 network:demo_default, CreateNetwork, not found
    #2 service:web:1, CreateContainer, no existing container (after #1)

Actions are numbered in topological order (``stackfile.graph`` levels, sorted within a level).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from stackfile.graph import Graph

__all__ = ["Action", "Kind", "Plan"]


class Kind(enum.Enum):
    """What an action does. The executor has one handler per kind."""

    CREATE_NETWORK = "CreateNetwork"
    CREATE_VOLUME = "CreateVolume"
    ENSURE_IMAGE = "EnsureImage"
    BUILD_IMAGE = "BuildImage"
    CREATE_CONTAINER = "CreateContainer"
    RECREATE_CONTAINER = "RecreateContainer"
    START_CONTAINER = "StartContainer"
    RESTART_CONTAINER = "RestartContainer"
    STOP_CONTAINER = "StopContainer"
    REMOVE_CONTAINER = "RemoveContainer"
    WAIT_HEALTHY = "WaitHealthy"
    WAIT_COMPLETED = "WaitCompleted"
    REMOVE_NETWORK = "RemoveNetwork"
    REMOVE_VOLUME = "RemoveVolume"
    REMOVE_IMAGE = "RemoveImage"


class Action(NamedTuple):
    """One atomic step. ``target`` names the object (``service:web:1``, ``network:demo_default``).
    (A NamedTuple: cheaper to define than a dataclass on every ``up``; change with ``_replace``.)"""

    target: str
    kind: Kind
    cause: str
    service: str = ""
    number: int = 0
    name: str = ""  # container / network / volume / image name the action is about
    container: str = ""  # id of the existing container it acts on, if any
    required: bool = True  # a failed non-required wait warns instead of failing

    @property
    def key(self) -> str:
        return f"{self.target}/{self.kind.value}"

    @property
    def subject(self) -> str:
        """What the action is about in the user's words, as Compose writes them: ``service "web"``
        (an image the service needs too), ``container "shop-web-1"``, ``network "shop_default"``."""
        kind, _, rest = self.target.partition(":")
        if kind == "service":
            return f'service "{self.service or rest.split(":")[0]}"'
        if self.service and kind == "image":
            return f'service "{self.service}"'
        return f'{kind} "{self.name or rest}"'

    @property
    def key_path(self) -> str | None:
        """The stack file key the action comes from (``services.web``, ``services.web.image``)."""
        if not self.service or self.target.startswith("container:"):
            return None
        return f"services.{self.service}" + (".image" if self.target.startswith("image:") else "")


class Plan:
    """A DAG of actions; an edge ``a -> b`` means ``a`` runs after ``b``."""

    def __init__(self) -> None:
        self.graph: Graph[str] = Graph()
        self.actions: dict[str, Action] = {}
        self.warnings: list[str] = []
        # (action, dependency) edges that only order: the action still runs when the dependency
        # failed (``depends_on.required: false``)
        self.soft: set[tuple[str, str]] = set()
        self._hard: set[tuple[str, str]] = set()

    def add(self, action: Action, after: Iterable[str] = (), soft: Iterable[str] = ()) -> str:
        """Add ``action`` (idempotent by key) running after the actions keyed ``after`` and
        ``soft`` (whose failure does not stop it)."""
        self.actions.setdefault(action.key, action)
        self.graph.add_node(action.key)
        for dep in after:
            if dep in self.actions and dep != action.key:
                self.graph.add_edge(action.key, dep)
                self._hard.add((action.key, dep))
                self.soft.discard((action.key, dep))
        for dep in soft:
            if dep in self.actions and dep != action.key and (action.key, dep) not in self._hard:
                self.graph.add_edge(action.key, dep)
                self.soft.add((action.key, dep))
        return action.key

    def harden(self, key: str) -> None:
        """Make every edge out of ``key`` a hard one (a wait became required)."""
        self.soft = {(a, d) for a, d in self.soft if a != key}

    def levels(self) -> list[list[Action]]:
        """Groups of actions that may run in parallel, dependencies first."""
        return [[self.actions[k] for k in level] for level in self.graph.levels()]

    def ordered(self) -> list[Action]:
        return [a for level in self.levels() for a in level]

    def dependencies(self, action: Action) -> list[Action]:
        return [self.actions[k] for k in self.graph.dependencies(action.key)]

    def for_target(self, prefix: str) -> list[Action]:
        return [a for a in self.ordered() if a.target.startswith(prefix)]

    def __iter__(self) -> Iterator[Action]:
        return iter(self.ordered())

    def __len__(self) -> int:
        return len(self.actions)

    def __bool__(self) -> bool:
        return bool(self.actions)

    def __str__(self) -> str:
        ordered = self.ordered()
        number = {a.key: i for i, a in enumerate(ordered, 1)}
        lines = []
        for action in ordered:
            line = f"#{number[action.key]} {action.target}, {action.kind.value}, {action.cause}"
            deps = sorted(number[k] for k in self.graph.dependencies(action.key))
            if deps:
                line += " (after " + ", ".join(f"#{d}" for d in deps) + ")"
            lines.append(line)
        return "\n".join(lines)
