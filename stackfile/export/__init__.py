"""Other engines' formats from the same stack file: Kubernetes manifests and a Swarm stack file.

Pure functions over the canonical config (what ``stackfile config --format json`` prints) and the
image references the services run; the engine reads files and registries and passes what they gave.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Export"]


class Export(NamedTuple):
    """Documents for the target engine, and one warning line per thing that did not translate."""

    documents: list[dict[str, Any]]
    warnings: list[str]
