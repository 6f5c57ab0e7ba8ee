"""The recipe IR: what an image is made of, shared by ``images:`` recipes and Dockerfiles.

Both the stack file's ``images:`` section and ``dockerfile.py`` produce a :class:`Recipe`; the
builder reads only this module (never the loader). Plain frozen dataclasses, no I/O, cheap to
import. Every step keeps its :class:`Source` (file, line) so build errors can point at it.

A recipe is a list of stages; the last one (or ``target``) is the image. Each stage starts
``From`` a base: a base source (``scratch``, ``busybox``, ``host``, ``debootstrap:<suite>``,
``oci-archive:<path>``, ``docker-archive:<path>``, ``oci:<dir>``), another image in the store or
of the project (``images:`` key), an earlier stage (by name or index), or a registry reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Arg",
    "CacheMount",
    "Cmd",
    "Copy",
    "Entrypoint",
    "Env",
    "Expose",
    "From",
    "Healthcheck",
    "Label",
    "Recipe",
    "Run",
    "Shell",
    "Source",
    "Stage",
    "Step",
    "StopSignal",
    "User",
    "Volume",
    "Workdir",
]


@dataclass(frozen=True)
class Source:
    """Where a step was written: file and 1-based line (None for synthesized steps)."""

    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class From:
    """The stage's base: ``ref`` as written (``busybox``, ``debootstrap:bookworm``, ``build`` stage...)."""

    ref: str
    platform: str | None = None
    source: Source = Source()


@dataclass(frozen=True)
class CacheMount:
    """``RUN --mount=type=cache,target=...``: a persistent dir outside the cache key."""

    target: str
    id: str | None = None
    sharing: Literal["shared", "private", "locked"] = "shared"
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None


@dataclass(frozen=True)
class Run:
    """Run a command. ``shell`` form: one string run with the stage's shell; ``exec`` form: argv."""

    command: tuple[str, ...]
    shell_form: bool = True
    cache_mounts: tuple[CacheMount, ...] = ()
    network: Literal["default", "none", "host"] = "default"
    source: Source = Source()


@dataclass(frozen=True)
class Copy:
    """COPY/ADD: ``sources`` relative to the build context (or to stage/image ``from_``) → ``dest``."""

    sources: tuple[str, ...]
    dest: str
    from_: str | None = None  # stage name/index or image ref
    chown: str | None = None
    chmod: str | None = None  # octal text, e.g. "755"
    add: bool = False  # ADD: local tar archives are extracted
    link: bool = False
    exclude: tuple[str, ...] = ()
    source: Source = Source()


@dataclass(frozen=True)
class Env:
    values: tuple[tuple[str, str], ...]
    source: Source = Source()


@dataclass(frozen=True)
class Arg:
    """A build argument with an optional default; values come from ``--build-arg`` / ``build.args``."""

    name: str
    default: str | None = None
    source: Source = Source()


@dataclass(frozen=True)
class Workdir:
    path: str
    source: Source = Source()


@dataclass(frozen=True)
class User:
    user: str
    source: Source = Source()


@dataclass(frozen=True)
class Cmd:
    command: tuple[str, ...]
    shell_form: bool = False
    source: Source = Source()


@dataclass(frozen=True)
class Entrypoint:
    command: tuple[str, ...]
    shell_form: bool = False
    source: Source = Source()


@dataclass(frozen=True)
class Expose:
    ports: tuple[str, ...]  # "80", "53/udp"
    source: Source = Source()


@dataclass(frozen=True)
class Label:
    values: tuple[tuple[str, str], ...]
    source: Source = Source()


@dataclass(frozen=True)
class Healthcheck:
    """``test`` empty with ``disable`` true means HEALTHCHECK NONE. Durations in seconds."""

    test: tuple[str, ...] = ()  # ("CMD", ...) | ("CMD-SHELL", "...") | ("NONE",)
    interval: float | None = None
    timeout: float | None = None
    start_period: float | None = None
    start_interval: float | None = None
    retries: int | None = None
    disable: bool = False
    source: Source = Source()


@dataclass(frozen=True)
class Shell:
    command: tuple[str, ...]
    source: Source = Source()


@dataclass(frozen=True)
class StopSignal:
    signal: str
    source: Source = Source()


@dataclass(frozen=True)
class Volume:
    paths: tuple[str, ...]
    source: Source = Source()


Step = (
    Run | Copy | Env | Arg | Workdir | User | Cmd | Entrypoint | Expose | Label | Healthcheck | Shell
    | StopSignal | Volume
)


@dataclass(frozen=True)
class Stage:
    """One build stage: a base and the steps on top of it. ``name`` from ``FROM ... AS name``."""

    base: From
    steps: tuple[Step, ...] = ()
    name: str | None = None
    # ARGs declared before the first FROM (global scope, usable in FROM lines)
    global_args: tuple[Arg, ...] = ()


@dataclass(frozen=True)
class Recipe:
    """A whole image definition: its stages; the image is ``target`` (a stage name) or the last one."""

    stages: tuple[Stage, ...]
    target: str | None = None
    context: str | None = None  # absolute build context directory
    ignore_patterns: tuple[str, ...] = ()  # from .dockerignore / .stackignore / recipe
    args: tuple[tuple[str, str], ...] = ()  # build args given by the caller
    labels: tuple[tuple[str, str], ...] = ()
    source: Source = Source()
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def target_stage(self) -> Stage:
        """The stage the image is made from."""
        if self.target is None:
            return self.stages[-1]
        for stage in self.stages:
            if stage.name == self.target:
                return stage
        raise KeyError(self.target)
