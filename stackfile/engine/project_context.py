"""One open project: its loaded stack (if the file could be read), the store and lazy managers.

Everything ``up``/``down``/``ps``... share: how to load, where state goes, how to observe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from stackfile.errors import NotFound
from stackfile.events import EventSink, discard
from stackfile.reconcile import labels as L
from stackfile.reconcile.health import read_health
from stackfile.reconcile.health_main import health_path
from stackfile.reconcile.observed import ObservedState, container_from_status
from stackfile.store.paths import StorePaths

__all__ = ["ProjectContext", "open_project", "project_name_fallback"]


@dataclass
class ProjectContext:
    """A project by name, with its loaded project when there is a file (None: labels only).

    ``config`` (the canonical dict) is what planning needs; ``stack`` (the typed model) is built
    on first use, i.e. only when a container is made.
    """

    paths: StorePaths
    name: str
    project: Any = None
    environ: dict[str, str] = field(default_factory=dict)
    sink: EventSink = discard

    @property
    def config(self) -> dict[str, Any] | None:
        return self.project.config if self.project is not None else None

    @cached_property
    def stack(self) -> Any:
        return self.project.model if self.project is not None else None

    def service_config(self, name: str) -> dict[str, Any] | None:
        """The canonical config of one service, or None."""
        config = self.config
        return (config.get("services") or {}).get(name) if config is not None else None

    def service_names(self) -> list[str]:
        return sorted((self.config or {}).get("services") or {})

    def defined_service_names(self) -> list[str]:
        """Every service of the file, those its inactive profiles leave out included."""
        return sorted({*self.service_names(), *(getattr(self.project, "disabled_services", None) or ())})

    @property
    def state_dir(self) -> Path:
        return self.paths.project(self.name)

    @property
    def working_dir(self) -> str:
        return str(getattr(self.project, "working_dir", "") or "")

    @cached_property
    def runtime(self) -> Any:
        from stackfile.runtime import get_runtime  # type: ignore[attr-defined,unused-ignore]

        return get_runtime(self.paths)

    @cached_property
    def networks(self) -> Any:
        from stackfile.network.manager import NetworkManager

        return NetworkManager(self.paths)

    @cached_property
    def volumes(self) -> Any:
        from stackfile.volumes import VolumeManager

        return VolumeManager(self.paths)

    @cached_property
    def images(self) -> Any:
        from stackfile.store.images import ImageStore

        return ImageStore(self.paths)

    def require_stack(self) -> Any:
        if self.project is None:
            raise NotFound("no stack file found", hint="run in the project's directory or pass -f FILE")
        return self.stack

    def containers(self, *, all: bool = True) -> list[Any]:
        """The runtime's statuses of this project's containers, sorted by name."""
        found = self.runtime.list(all=all, labels={L.PROJECT: self.name})
        return sorted(found, key=lambda s: s.name)

    def health(self, container_id: str) -> str:
        record = read_health(health_path(self.paths, self.name, container_id))
        return record.status if record else ""

    def observe(self, image_refs: list[str] | None = None, *, sound_only: bool = False) -> ObservedState:
        """The observed state: containers (with health), networks, volumes, images by reference.

        With ``sound_only`` (``up``) a network recorded but broken in the kernel (its bridge or DNS
        server gone after a crash, a reboot or a failed create) counts as missing, so the plan
        creates it again, which repairs it; ``down`` sees every record, to remove it."""
        containers = [container_from_status(s, self.health(s.id)) for s in self.containers()]
        nets: dict[str, Mapping[str, str]] = {
            n.name: dict(n.labels) for n in self.networks.list_networks(project=self.name)
            if not sound_only or self.networks.is_sound(n)}
        vols: dict[str, Mapping[str, str]] = {v.name: dict(v.labels) for v in self._project_volumes()}
        images = {}
        for ref in image_refs or []:
            record = self.images.resolve(ref)
            if record is not None:
                images[ref] = record.id
        return ObservedState(self.name, containers, nets, vols, images)

    def _project_volumes(self) -> list[Any]:
        return [v for v in self.volumes.list_volumes(project=self.name) if not v.anonymous]


def project_name_fallback(opts: Any) -> str:
    """The project name when no file can be read: -p, COMPOSE_PROJECT_NAME, or the directory name."""
    name = getattr(opts, "project_name", None) or (getattr(opts, "environ", {}) or {}).get(
        "COMPOSE_PROJECT_NAME")
    if not name:
        base = getattr(opts, "project_directory", None) or (getattr(opts, "environ", {}) or {}).get("PWD") \
            or str(Path.cwd())
        name = Path(base).name
    return re.sub(r"[^a-z0-9_-]", "", str(name).lower()) or "default"


def open_project(opts: Any, *, sink: EventSink = discard, require_file: bool = True,
                 services: list[str] | tuple[str, ...] = ()) -> ProjectContext:
    """Load the project named by the CLI options; without a file, fall back to the name only.
    ``services`` named on the command line are enabled as Compose does (their profiles too)."""
    from stackfile.engine.config import load  # type: ignore[import-not-found,unused-ignore]
    from stackfile.engine.registry import configure

    paths = StorePaths.at(getattr(opts, "root", None))
    configure(getattr(opts, "environ", None) or {})  # pulls of up/run/build use the user's registry settings
    try:
        project = load(opts, services=services)
    except NotFound:
        if require_file:
            raise
        return ProjectContext(paths, project_name_fallback(opts), environ=dict(opts.environ), sink=sink)
    env = dict(getattr(project, "environment", None) or opts.environ)
    return ProjectContext(paths, project.name, project, env, sink)
