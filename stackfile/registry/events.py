"""Events of pulls and pushes, one stream per image: the CLI draws a bar per layer or plain lines."""

from __future__ import annotations

from dataclasses import dataclass

from stackfile.events import Event

__all__ = ["LayerProgress", "TransferDone", "layer_progress"]


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


def layer_progress(kind: str, image: str, digest: str, status: str, current: int = 0,
                   total: int = 0) -> LayerProgress:
    """A ``pull.layer`` or ``push.layer`` event for the layer blob ``digest`` of ``image``."""
    short = digest[7:19]
    return LayerProgress(kind=kind, message=f"{short}: {status}", image=image, layer=short, status=status,
                         current=current, total=total)


@dataclass(frozen=True, eq=False, repr=False)
class TransferDone(Event):
    """A pull or push finished: ``digest`` is the manifest's, ``image_id`` the store's image."""

    image: str = ""
    digest: str = ""
    image_id: str = ""
    size: int = 0
