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


def pinned_images(project: Project, root: str) -> tuple[dict[str, str], list[str]]:
    """Each service's image as ``repo@sha256:...``, the digest its registry gave when it was pushed
    (``stackfile push``) or pulled, and warnings. A built image that was never pushed is an error
    naming the service; another image without a known digest keeps its tag, with a warning."""
    from stackfile.store.paths import StorePaths
    from stackfile.store.refs import repo_digest
    from stackfile.store.schema import images_db

    db = images_db(StorePaths.at(root))
    recipes = project.config.get("images") or {}
    out, warnings = {}, []
    for name, ref in service_images(project).items():
        svc = project.config["services"][name]
        pinned = ref if "@sha256:" in ref else repo_digest(db, ref)
        if pinned is not None:
            out[name] = pinned
        elif svc.get("build") is not None or svc.get("image") in recipes:
            raise NotFound(f'service "{name}": image {ref} has no registry digest in this store',
                           location=Location(key_path=f"services.{name}.image"),
                           hint="push it first (stackfile push), then export again")
        else:
            out[name] = ref
            warnings.append(f"services.{name}.image: {ref} is not pinned (no digest known here; pull it "
                            "to pin it)")
    return out, warnings


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
