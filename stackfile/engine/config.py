"""Load and inspect a project (the ``config`` and ``graph`` use cases)."""

from __future__ import annotations

from typing import Any

from stackfile.spec.loader import LoadOptions, load_project
from stackfile.spec.project import Project

__all__ = ["graph_levels", "load", "options_from"]


def options_from(
    opts: Any, *, stdin: str | None = None, interpolate: bool = True, cwd: str | None = None,
    services: list[str] | tuple[str, ...] = (),
) -> LoadOptions:
    """Build :class:`LoadOptions` from the CLI's ``GlobalOptions`` (or any object with its fields)."""
    return LoadOptions(
        files=list(getattr(opts, "files", []) or []),
        project_name=getattr(opts, "project_name", None),
        project_directory=getattr(opts, "project_directory", None),
        env_files=list(getattr(opts, "env_files", []) or []),
        profiles=list(getattr(opts, "profiles", []) or []),
        environment_name=getattr(opts, "environment_name", None),
        template_vars=dict(getattr(opts, "template_vars", {}) or {}),
        environ=dict(getattr(opts, "environ", {}) or {}),
        stdin=stdin,
        cwd=cwd,
        interpolate=interpolate,
        services=list(services),
    )


def load(opts: Any, *, stdin: str | None = None, interpolate: bool = True, cwd: str | None = None,
         services: list[str] | tuple[str, ...] = ()) -> Project:
    """Load the project the global options describe (``-f -`` reads stdin unless ``stdin`` is given);
    ``services`` named on the command line are enabled even when their profiles are not active."""
    if stdin is None and "-" in (getattr(opts, "files", None) or []):
        import sys

        stdin = sys.stdin.read()
    return load_project(options_from(opts, stdin=stdin, interpolate=interpolate, cwd=cwd, services=services))


def graph_levels(project: Project) -> list[list[str]]:
    """Topological levels of the project's DAG (``kind:name`` nodes, dependencies first)."""
    return project.dependency_graph().levels()
