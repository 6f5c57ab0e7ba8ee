"""Typed build events: step started / cached / done, output lines, image built."""

from __future__ import annotations

from dataclasses import dataclass

from stackfile.events import Event

__all__ = ["ImageBuilt", "StepCached", "StepDone", "StepOutput", "StepStarted"]


@dataclass(frozen=True, eq=False, repr=False)  # fewer generated methods: cheaper to import
class StepStarted(Event):
    """A step's cache key missed; it is running now. ``step`` is its text (``RUN make``)."""

    kind: str = "build.step.start"
    image: str = ""
    stage: str = ""
    index: int = 0
    total: int = 0
    step: str = ""


@dataclass(frozen=True, eq=False, repr=False)  # fewer generated methods: cheaper to import
class StepCached(Event):
    kind: str = "build.step.cached"
    image: str = ""
    stage: str = ""
    index: int = 0
    total: int = 0
    step: str = ""


@dataclass(frozen=True, eq=False, repr=False)  # fewer generated methods: cheaper to import
class StepDone(Event):
    kind: str = "build.step.done"
    image: str = ""
    stage: str = ""
    index: int = 0
    total: int = 0
    step: str = ""
    seconds: float = 0.0


@dataclass(frozen=True, eq=False, repr=False)  # fewer generated methods: cheaper to import
class StepOutput(Event):
    """One line a RUN step printed."""

    kind: str = "build.output"
    image: str = ""
    line: str = ""


@dataclass(frozen=True, eq=False, repr=False)  # fewer generated methods: cheaper to import
class ImageBuilt(Event):
    kind: str = "build.image"
    image: str = ""
    image_id: str = ""
    tags: tuple[str, ...] = ()
    seconds: float = 0.0
    cached_steps: int = 0
    ran_steps: int = 0
