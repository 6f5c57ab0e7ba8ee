"""The export use cases: the project as Kubernetes manifests or a Swarm stack file.

The engine's part is what the pure writers in :mod:`stackfile.export` must not do: load the
project, read the content of secrets and configs (files, the environment, inline content) and name
the image each service runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackfile.errors import InvalidSpec, Location, NotFound
from stackfile.export import Export
from stackfile.spec.project import Project

__all__ = ["export_kubernetes", "export_swarm", "service_images"]


def service_images(project: Project) -> dict[str, str]:
    """The image each service runs: its ``image:``, or ``PROJECT-SERVICE`` for a build without one."""
    out = {}
    for name, svc in (project.config.get("services") or {}).items():
        out[name] = str(svc.get("image") or f"{project.name}-{name}")
    return out


def file_contents(project: Project, kind: str) -> dict[str, bytes]:
    """The content of every non-external secret or config (``kind``) of the project, by name."""
    out = {}
    for name, decl in sorted((project.config.get(kind) or {}).items()):
        decl = decl or {}
        where = Location(key_path=f"{kind}.{name}")
        if decl.get("external"):
            continue
        if decl.get("file"):
            try:
                out[name] = Path(decl["file"]).read_bytes()
            except OSError as exc:
                raise NotFound(
                    f"{kind}.{name}: cannot read {decl['file']}: {exc.strerror}",
                    location=where,
                    hint="create the file or fix its path",
                ) from None
        elif decl.get("environment"):
            value = project.environment.get(decl["environment"])
            if value is None:
                raise InvalidSpec(
                    f"{kind}.{name}: variable {decl['environment']} is not set",
                    location=where,
                    hint=f"set {decl['environment']} in the environment or in .env",
                )
            out[name] = value.encode()
        elif decl.get("content") is not None:
            out[name] = str(decl["content"]).encode()
    return out


def export_kubernetes(project: Project, options: Any, images: Mapping[str, str] | None = None) -> Export:
    """Kubernetes manifests for ``project``; ``options`` is a ``export.kubernetes.KubeOptions``."""
    from stackfile.export.kubernetes import to_kubernetes

    return to_kubernetes(
        project.config,
        images or service_images(project),
        file_contents(project, "secrets"),
        file_contents(project, "configs"),
        options,
    )


def export_swarm(project: Project, images: Mapping[str, str] | None = None) -> Export:
    """A compose file for ``docker stack deploy`` (one document)."""
    from stackfile.export.swarm import to_swarm

    return to_swarm(project.config, images or service_images(project))
