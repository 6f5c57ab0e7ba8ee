"""Image names: normalisation (``busybox`` → ``busybox:latest``) and what kind of reference a text is."""

from __future__ import annotations

import re

from stackfile.errors import InvalidSpec

__all__ = [
    "BASE_PREFIXES", "BASE_SOURCES", "is_base_source", "is_registry_ref", "normalize_name", "split_name",
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
    text = ref.strip()
    if text.startswith(("oci-archive:", "docker-archive:", "oci:")):
        return text  # an imported archive is named by its source reference
    if text.startswith("docker://"):
        text = text[len("docker://"):]
    if "@" in text:
        text = text.split("@", 1)[0]
    repo, tag = split_name(text)
    if not repo or not _NAME.match(repo.lower()) or repo != repo.lower():
        raise InvalidSpec(f"invalid image name {ref!r}",
                          hint="names are lowercase letters, digits and . _ - / separators, e.g. app:1.0")
    if not _TAG.match(tag):
        raise InvalidSpec(f"invalid tag in image name {ref!r}",
                          hint="a tag is up to 128 letters, digits, '_', '.' or '-'")
    return f"{repo}:{tag}"


def is_base_source(ref: str) -> bool:
    return ref in BASE_SOURCES or ref.startswith(BASE_PREFIXES)


def is_registry_ref(ref: str) -> bool:
    """True for references only a registry could satisfy (anything that is not a base source)."""
    return not is_base_source(ref)
