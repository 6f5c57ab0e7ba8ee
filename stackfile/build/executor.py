"""How a RUN step is executed: the :class:`Executor` protocol and the job it gets.

The builder plans and caches; an executor only runs one command on top of some layers and hands
back a directory holding the changes (or None when nothing changed). The real one runs a runtime
container (:mod:`stackfile.build.run`); tests use fakes that count executions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

from stackfile.errors import InvalidSpec, Location

__all__ = ["BuildFailed", "CacheDir", "Executor", "RunJob"]


class CacheDir(NamedTuple):
    """A persistent cache mount: host directory → target inside the build container."""

    source: str
    target: str


class RunJob(NamedTuple):
    argv: tuple[str, ...]
    layers: tuple[str, ...]  # lower dirs, top first
    env: Mapping[str, str] = {}
    cwd: str = "/"
    user: str = ""
    network: str = "host"  # "host" or "none"
    cache_dirs: tuple[CacheDir, ...] = ()
    description: str = ""
    image: str = ""


class Executor(Protocol):
    def run(self, job: RunJob, output: Callable[[str], None]) -> Path | None:
        """Run ``job``; return a directory (under the store's tmp/) with the changes, or None."""


class BuildFailed(InvalidSpec):
    """A RUN step exited non-zero: names the step, its file and line, and its last output."""

    def __init__(self, description: str, code: int, tail: list[str], location: Location) -> None:
        detail = "\n".join(f"  | {line}" for line in tail) if tail else None
        from stackfile.build.exhaustion import step_failed_hint

        hint = step_failed_hint(tail, code) or "the lines above are the end of the command's output"
        super().__init__(f"build step '{description}' failed with exit code {code}", location=location,
                         detail=detail, hint=hint)
        self.code = code
