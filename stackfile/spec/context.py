"""What the pure stages need to know about the project: where it is and its environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

__all__ = ["Context"]


@dataclass(frozen=True)
class Context:
    """Project directory, project name and the resolved interpolation environment."""

    working_dir: str
    project_name: str
    environment: dict[str, str] = field(default_factory=dict)
    home: str = "/root"

    def abspath(self, path: str, base: str | None = None) -> str:
        """Resolve ``path`` against ``base`` (default the project directory), expanding ``~``."""
        if path == "~" or path.startswith("~/"):
            return os.path.normpath(self.home + path[1:])
        return os.path.normpath(os.path.join(base or self.working_dir, path))
