"""Service volume short syntax ``[SOURCE:]TARGET[:OPTIONS]`` → the long form, like compose-go."""

from __future__ import annotations

import posixpath
from functools import lru_cache
from typing import Any

__all__ = ["PROPAGATIONS", "is_file_path", "is_windows_path", "parse_volume"]

PROPAGATIONS = ("private", "rprivate", "slave", "rslave", "shared", "rshared")


def _is_drive(buffer: str, char: str) -> bool:
    return char == ":" and len(buffer) == 1 and buffer.isalpha()


def is_windows_path(path: str) -> bool:
    """``C:\\dir``, ``C:/dir`` or ``\\\\pipe``: kept as written, never joined to the project dir."""
    return path.startswith("\\\\") or (
        len(path) > 2 and path[1] == ":" and path[0].isalpha() and path[2] in "\\/"
    )


def is_file_path(source: str) -> bool:
    """Bind sources start with ``.``, ``/`` or ``~`` (or a Windows drive/pipe)."""
    if not source:
        return False
    if source[0] in "./~" or source.startswith("\\\\"):
        return True
    return len(source) > 1 and _is_drive(source[0], source[1])


def _options(volume: dict[str, Any], text: str) -> None:
    for option in text.split(","):
        if option == "ro":
            volume["read_only"] = True
        elif option == "rw":
            volume.pop("read_only", None)
        elif option == "nocopy":
            volume.setdefault("volume", {})["nocopy"] = True
        elif option in PROPAGATIONS:
            volume.setdefault("bind", {})["propagation"] = option
        elif option in ("z", "Z"):
            volume.setdefault("bind", {})["selinux"] = option


def _split(spec: str) -> list[str]:
    parts: list[str] = []
    buffer, depth, i = "", 0, 0
    while i < len(spec):
        char = spec[i]
        if spec.startswith("${", i):
            depth, buffer, i = depth + 1, buffer + "${", i + 2
            continue
        if char == "}" and depth:
            depth -= 1
        if char == ":" and depth == 0 and not _is_drive(buffer, char):
            if not buffer:
                raise ValueError("empty section between colons")
            parts.append(buffer)
            buffer = ""
        else:
            buffer += char
        i += 1
    if not buffer:
        raise ValueError("empty section between colons")
    parts.append(buffer)
    return parts


def _clean(target: str) -> str:
    """The target as compose-go's ``path.Clean`` leaves it: ``/var/www/html/`` -> ``/var/www/html``,
    ``//a/./b/../c`` -> ``/a/c`` (Windows paths kept as written)."""
    if is_windows_path(target):
        return target
    cleaned = posixpath.normpath(target)
    return cleaned[1:] if cleaned.startswith("//") else cleaned


def parse_volume(spec: str) -> dict[str, Any]:
    """Parse a short volume spec; ``ValueError`` explains what is wrong. Returns a fresh dict."""
    parsed = _parse_cached(spec)
    return {k: dict(v) if isinstance(v, dict) else v for k, v in parsed.items()}


@lru_cache(maxsize=1024)
def _parse_cached(spec: str) -> dict[str, Any]:
    if not spec:
        raise ValueError("invalid empty volume spec")
    if len(spec) <= 2:
        return {"type": "volume", "target": spec, "volume": {}}
    parts = _split(spec)
    if len(parts) > 3:
        raise ValueError("too many colons")
    volume: dict[str, Any] = {}
    if len(parts) == 1:
        volume["target"] = parts[0]
    else:
        volume["source"], volume["target"] = parts[0], parts[1]
    volume["target"] = _clean(volume["target"])
    if len(parts) == 3:
        _options(volume, parts[2])
    if is_file_path(volume.get("source", "")):
        volume["type"] = "bind"
        volume.setdefault("bind", {})["create_host_path"] = True
        volume.pop("volume", None)
    else:
        volume["type"] = "volume"
        volume.setdefault("volume", {})
        volume.pop("bind", None)
    return {"type": volume.pop("type"), **volume}
