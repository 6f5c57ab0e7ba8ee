"""Image names: normalisation (``busybox`` → ``busybox:latest``) and what kind of reference a text is."""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "BASE_PREFIXES", "BASE_SOURCES", "is_base_source", "is_registry_ref", "normalize_name",
    "resolve_image_id", "split_name",
]

BASE_SOURCES = ("scratch", "busybox", "host")
BASE_PREFIXES = ("debootstrap:", "oci-archive:", "docker-archive:", "oci:")

_COMPONENT = r"[a-z0-9]+(?:[._-]+[a-z0-9]+)*"
_NAME = re.compile(rf"^{_COMPONENT}(?::[0-9]+)?(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def split_name(ref: str) -> tuple[str, str]:
    """``repo[:tag]`` → (repo, tag); the tag defaults to ``latest``. A registry port is not a tag."""
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1:]
    return ref, "latest"


def normalize_name(ref: str) -> str:
    """The stored form of an image name: ``repo:tag``; raises InvalidSpec for malformed names."""
    name, problem = _normalize(ref)
    if problem:
        from stackfile.errors import InvalidSpec

        if problem == "name":
            raise InvalidSpec(f"invalid image name {ref!r}",
                              hint="names are lowercase letters, digits and . _ - / separators, e.g. app:1.0")
        raise InvalidSpec(f"invalid tag in image name {ref!r}",
                          hint="a tag is up to 128 letters, digits, '_', '.' or '-'")
    return name


def _normalize(ref: str) -> tuple[str, str]:
    """(``repo:tag``, "") or ("", what is malformed: "name" or "tag")."""
    text = ref.strip()
    if text.startswith(("oci-archive:", "docker-archive:", "oci:")):
        return text, ""  # an imported archive is named by its source reference
    if text.startswith("docker://"):
        text = text[len("docker://"):]
    if "@" in text:
        text = text.split("@", 1)[0]
    repo, tag = split_name(text)
    if not repo or not _NAME.match(repo.lower()) or repo != repo.lower():
        return "", "name"
    if not _TAG.match(tag):
        return "", "tag"
    return f"{repo}:{tag}", ""


def resolve_image_id(db: sqlite3.Connection, ref: str) -> str | None:
    """The id of the image ``ref`` names (name, name:tag, full id, hex id or unique id prefix), or None."""
    text = ref.strip()
    name, problem = _normalize(text)
    if not problem:
        row = db.execute("SELECT image_id FROM image_names WHERE name=?", (name,)).fetchone()
        if row:
            return str(row[0])
    hexpart = text[7:] if text.startswith("sha256:") else text
    if not hexpart or len(hexpart) > 64 or any(c not in "0123456789abcdef" for c in hexpart):
        return None
    rows = db.execute("SELECT id FROM images WHERE id >= ? AND id < ? LIMIT 2",
                      ("sha256:" + hexpart, "sha256:" + hexpart + "g")).fetchall()
    if len(rows) > 1:
        from stackfile.errors import Conflict

        raise Conflict(f"image id prefix {ref!r} is ambiguous", hint="give more characters of the id")
    return str(rows[0][0]) if rows else None


def is_base_source(ref: str) -> bool:
    return ref in BASE_SOURCES or ref.startswith(BASE_PREFIXES)


def is_registry_ref(ref: str) -> bool:
    """True for references only a registry could satisfy (anything that is not a base source)."""
    return not is_base_source(ref)
