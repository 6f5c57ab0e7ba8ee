"""Container references: a full id, a name, or a unique id prefix."""

from __future__ import annotations

import os
import re

from stackfile.errors import Conflict, InvalidSpec, NotFound

__all__ = ["NAMES_DIR", "check_name", "resolve_ref"]

NAMES_DIR = ".names"
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_HEX = re.compile(r"^[0-9a-f]+$")


def check_name(name: str) -> None:
    """Docker's rule for container names: ``[a-zA-Z0-9][a-zA-Z0-9_.-]*``."""
    if not _NAME.match(name) or len(name) > 128:
        raise InvalidSpec(f"invalid container name {name!r}",
                          hint="use letters, digits, '_', '.' and '-', starting with a letter or digit")


def resolve_ref(containers: str | os.PathLike[str], ref: str) -> str:
    """The id ``ref`` names: full id, then name, then unique id prefix."""
    if not ref or "/" in ref or ref.startswith("."):
        raise NotFound(f"no such container: {ref!r}")
    if os.path.exists(os.path.join(containers, ref, "config.json")):
        return ref
    try:
        target = os.readlink(os.path.join(containers, NAMES_DIR, ref))
        if os.path.exists(os.path.join(containers, target, "config.json")):
            return target
    except OSError:
        pass
    if _HEX.match(ref):
        try:
            matches = sorted(n for n in os.listdir(containers) if n.startswith(ref))
        except FileNotFoundError:
            matches = []
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise Conflict(f"container id prefix {ref!r} is ambiguous ({len(matches)} containers)",
                           hint="give more characters of the id, or the name")
    raise NotFound(f"no such container: {ref!r}", hint="list containers with 'stackfile container ls -a'")
