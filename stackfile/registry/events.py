"""Events of pulls and pushes, one stream per image: the CLI draws a bar per layer or plain lines."""

from __future__ import annotations

from dataclasses import dataclass

from stackfile.events import Event

__all__ = ["LayerProgress", "TransferDone"]


@dataclass(frozen=True, eq=False, repr=False)
class LayerProgress(Event):
    """``layer`` (short digest) of ``image`` is at ``current`` of ``total`` bytes; ``status`` is what
    Docker prints: Waiting, Downloading, Verifying, Extracting, Pull complete, Already exists,
    Preparing, Pushing, Pushed, Layer already exists, Mounted from <repo>."""

    image: str = ""
    layer: str = ""
    status: str = ""
    current: int = 0
    total: int = 0


@dataclass(frozen=True, eq=False, repr=False)
class TransferDone(Event):
    """A pull or push finished: ``digest`` is the manifest's, ``image_id`` the store's image."""

    image: str = ""
    digest: str = ""
    image_id: str = ""
    size: int = 0
