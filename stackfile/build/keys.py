"""Cache keys: sha256 over the canonical step (without what does not change the output, such as
its source location), the parent key, and the digests of the step's inputs (buildkit's CacheMap)."""

from __future__ import annotations

from stackfile.digest import digest_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["base_key", "step_doc", "step_key"]

_OUTPUT_NEUTRAL = {"source"}


def step_doc(step: object) -> dict[str, Any]:
    """The step as plain data: its type and the fields that change the output."""
    import dataclasses

    doc: dict[str, Any] = {"type": type(step).__name__}
    for f in dataclasses.fields(step):  # type: ignore[arg-type]
        if f.name not in _OUTPUT_NEUTRAL:
            doc[f.name] = _plain(getattr(step, f.name))
    return doc


def _plain(value: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def base_key(image_id: str) -> str:
    """The key a stage starts from: its base image's id."""
    return digest_json({"base": image_id})


def step_key(parent: str, doc: dict[str, Any], inputs: dict[str, Any] | None = None) -> str:
    """Key of a step on top of ``parent`` with resolved ``doc`` and ``inputs`` digests."""
    return digest_json({"parent": parent, "step": doc, "inputs": inputs or {}})
