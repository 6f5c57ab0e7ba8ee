"""Join a container path onto a root without letting ``..`` or symlinks escape it (runc's securejoin)."""

from __future__ import annotations

import os

__all__ = ["secure_join"]

_MAX_LINKS = 255


def secure_join(root: str, unsafe: str) -> str:
    """Host path of ``unsafe`` inside ``root``; symlinks are resolved as if ``root`` were ``/``.

    Missing components are fine (the result names where they would be created).
    """
    parts = [p for p in unsafe.split("/") if p and p != "."]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        host = os.path.join(root, *resolved, part)
        try:
            target = os.readlink(host)
        except OSError:  # not a link, or missing
            resolved.append(part)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OSError(40, f"too many levels of symbolic links in {unsafe}")
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p and p != "."] + parts
    return os.path.join(root, *resolved)
