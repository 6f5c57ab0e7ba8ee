"""``environments:``: named overlays (dev/test/prod) of a stack, selected with ``--env NAME``.

:func:`extract` takes the section out of a parsed document and checks its shape: each overlay is a
partial stack holding only ``services``, ``networks``, ``volumes``, ``secrets``, ``configs``,
``images``, ``models`` or ``x-*`` keys. The loader merges the selected overlay with its own rules.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from stackfile.errors import InvalidSpec, Location

__all__ = ["OVERLAY_KEYS", "extract", "select"]

OVERLAY_KEYS = ("configs", "images", "models", "networks", "secrets", "services", "volumes")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def extract(doc: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Split ``doc`` into (the document without ``environments:``, ``{name: overlay}``)."""
    rest = {k: v for k, v in doc.items() if k != "environments"}
    section = doc.get("environments")
    if section is None:
        return rest, {}
    if not isinstance(section, Mapping):
        raise _invalid("environments", "must be a mapping of environment names to overlays",
                       f"got {type(section).__name__}; write environments: {{dev: {{services: ...}}}}")
    return rest, {str(name): _overlay(str(name), section[name]) for name in sorted(section, key=str)}


def select(overlays: Mapping[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """The overlay called ``name``, or InvalidSpec listing the defined ones."""
    if name in overlays:
        return overlays[name]
    valid = ", ".join(sorted(overlays)) or "(none defined)"
    close = difflib.get_close_matches(name, list(overlays), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise InvalidSpec(f"unknown environment {name!r}", location=Location(key_path="environments"),
                      hint=f"{hint}environments are: {valid}")


def _overlay(name: str, overlay: Any) -> dict[str, Any]:
    path = f"environments.{name}"
    if not _NAME.match(name):
        raise _invalid(path, "is not a valid environment name", "use letters, digits, '_', '.' and '-'")
    if overlay is None:
        return {}
    if not isinstance(overlay, Mapping):
        raise _invalid(path, "must be a mapping (a partial stack)",
                       f"got {type(overlay).__name__}; e.g. {name}: {{services: {{web: {{...}}}}}}")
    for key, value in overlay.items():
        key = str(key)
        if key.startswith("x-"):
            continue
        if key not in OVERLAY_KEYS:
            close = difflib.get_close_matches(key, OVERLAY_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise _invalid(f"{path}.{key}", "is not allowed in an environment overlay",
                           f"{hint}valid keys: {', '.join(OVERLAY_KEYS)} or x-*")
        if value is not None and not isinstance(value, Mapping):
            raise _invalid(f"{path}.{key}", "must be a mapping", f"got {type(value).__name__}")
        _check_entries(f"{path}.{key}", value or {})
    return dict(overlay)


def _check_entries(path: str, section: Mapping[str, Any]) -> None:
    for entry, value in section.items():
        if value is not None and not isinstance(value, Mapping):
            raise _invalid(f"{path}.{entry}", "must be a mapping", f"got {type(value).__name__}")


def _invalid(path: str, what: str, hint: str) -> InvalidSpec:
    return InvalidSpec(f"{path} {what}", location=Location(key_path=path), hint=hint)
