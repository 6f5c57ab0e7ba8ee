"""Container events into the store's journal (:mod:`stackfile.store.journal`), with the attributes
Docker gives them: the container's labels, ``image`` and ``name``, and what the action adds
(``exitCode`` for ``die``, ``signal`` for ``kill``)."""

from __future__ import annotations

from stackfile.store import journal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["container_event"]


def container_event(root: str, action: str, container_id: str, config: dict[str, Any], **extra: str) -> None:
    """Record ``action`` of the container whose ``config.json`` is ``config``."""
    spec = config.get("spec") or {}
    attrs = {**(spec.get("labels") or {}), "image": config.get("image", ""), "name": config.get("name", ""),
             **extra}
    journal.record(root, "container", action, container_id, attrs)
