"""Typed build events: step started / cached / done, output lines, image built."""

from __future__ import annotations

from dataclasses import dataclass

from stackfile.events import Event

__all__ = ["ImageBuilt", "StepCached", "StepDone", "StepEvent", "StepOutput", "StepStarted"]


@dataclass(frozen=True, eq=False, repr=False)  # fewer generated methods: cheaper to import
class StepEvent(Event):
    """What every step event says: which image, stage and step (``RUN make``), and its place."""

    image: str = ""
    stage: str = ""
    index: int = 0
    total: int = 0
    step: str = ""


@dataclass(frozen=True, eq=False, repr=False)
class StepStarted(StepEvent):
    """A step's cache key missed; it is running now."""

    kind: str = "build.step.start"


@dataclass(frozen=True, eq=False, repr=False)
class StepCached(StepEvent):
    """A step's cache key hit: its layer/config is reused."""

    kind: str = "build.step.cached"


@dataclass(frozen=True, eq=False, repr=False)
class StepDone(StepEvent):
    """A step ran to completion in ``seconds``."""

    kind: str = "build.step.done"
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
