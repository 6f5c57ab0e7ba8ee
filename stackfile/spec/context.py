"""What the pure stages need to know about the project: where it is and its environment."""

from __future__ import annotations

import os

__all__ = ["Context"]


class Context:
    """Project directory, project name and the resolved interpolation environment (read-only)."""

    __slots__ = ("environment", "home", "project_name", "working_dir")

    def __init__(
        self,
        working_dir: str,
        project_name: str,
        environment: dict[str, str] | None = None,
        home: str = "/root",
    ) -> None:
        self.working_dir = working_dir
        self.project_name = project_name
        self.environment = environment if environment is not None else {}
        self.home = home

    def abspath(self, path: str, base: str | None = None) -> str:
        """Resolve ``path`` against ``base`` (default the project directory), expanding ``~``."""
        if path == "~" or path.startswith("~/"):
            return os.path.normpath(self.home + path[1:])
        return os.path.normpath(os.path.join(base or self.working_dir, path))
