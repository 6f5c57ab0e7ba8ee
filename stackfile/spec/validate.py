"""Semantic checks of the canonical project (placeholder)."""

from __future__ import annotations

from typing import Any

__all__ = ["validate_project"]


def validate_project(config: dict[str, Any]) -> None:
    return None
