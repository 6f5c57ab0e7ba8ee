"""Other engines' formats from the same stack file: Kubernetes manifests and a Swarm stack file.

Pure functions over the canonical config (what ``stackfile config --format json`` prints) and the
image references the services run; the engine reads files and registries and passes what they gave.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["Export", "untranslated_keys"]

# the top-level sections both writers translate
SECTIONS = ("name", "services", "networks", "volumes", "secrets", "configs")


class Export(NamedTuple):
    """Documents for the target engine, and one warning line per thing that did not translate."""

    documents: list[dict[str, Any]]
    warnings: list[str]


def untranslated_keys(config: Mapping[str, Any], also: tuple[str, ...] = ()) -> list[str]:
    """Top-level keys of ``config`` that are neither a translated section, one of ``also``, nor an
    ``x-`` extension (each gets a warning), in name order."""
    return [k for k in sorted(config) if k not in SECTIONS and k not in also and not k.startswith("x-")]
