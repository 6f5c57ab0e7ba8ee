"""Image names: Docker's normalisation (``docker.io/library/busybox`` → ``busybox:latest``), digest
references, and what kind of reference a text is."""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "BASE_PREFIXES", "BASE_SOURCES", "DOCKER_HUB", "familiar_repo", "is_base_source", "is_registry_ref",
    "normalize_name", "resolve_image_id", "split_name", "split_reference",
]

BASE_SOURCES = ("scratch", "busybox", "host")
BASE_PREFIXES = ("debootstrap:", "oci-archive:", "docker-archive:", "oci:")
DOCKER_HUB = "docker.io"
_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN = re.compile(r"^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
                     r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def split_name(ref: str) -> tuple[str, str]:
    """``repo[:tag]`` → (repo, tag); the tag defaults to ``latest``. A registry port is not a tag."""
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1:]
    return ref, "latest"


def split_reference(ref: str) -> tuple[str, str, str, str] | str:
    """Docker's parse of ``[domain/]path[:tag][@digest]`` into (domain, path, tag, digest), with
    Docker Hub's defaults filled in (``docker.io``, ``library/``; the tag stays empty when only a
    digest is given, ``latest`` when neither). A malformed reference gives what is wrong
    (``"name"``, ``"tag"`` or ``"digest"``) instead."""
    text = ref.strip()
    if text.startswith("docker://"):
        text = text[len("docker://"):]
    digest = ""
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            return "digest"
    repo, tag = split_name(text)
    if ":" not in text[text.rfind("/") + 1:]:
        tag = "" if digest else "latest"
    elif not _TAG.match(tag):
        return "tag"
    first, sep, rest = repo.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, rest
        if not _DOMAIN.match(domain):
            return "name"
    else:
        domain, path = DOCKER_HUB, repo
    if domain in _HUB_ALIASES:
        domain = DOCKER_HUB
        if "/" not in path:
            path = "library/" + path
    if not _PATH.match(path) or len(domain) + len(path) > 254:
        return "name"
    return domain, path, tag, digest


def familiar_repo(domain: str, path: str) -> str:
    """The short form Docker shows: ``busybox`` for docker.io/library/busybox, else domain/path."""
    if domain == DOCKER_HUB:
        rest = path.removeprefix("library/")
        return rest if "/" not in rest else path
    return f"{domain}/{path}"


def normalize_name(ref: str) -> str:
    """The stored form of an image name: familiar ``repo:tag`` (Docker's normalisation:
    ``docker.io/library/busybox``, ``library/busybox`` and ``busybox`` are ``busybox:latest``);
    raises InvalidSpec for malformed names."""
    name, problem = _normalize(ref)
    if problem:
        from stackfile.errors import InvalidSpec

        if problem == "tag":
            raise InvalidSpec(f"invalid tag in image name {ref!r}",
                              hint="a tag is up to 128 letters, digits, '_', '.' or '-'")
        if problem == "digest":
            raise InvalidSpec(f"invalid digest in image reference {ref!r}",
                              hint="a digest is sha256: followed by 64 lowercase hex digits")
        raise InvalidSpec(f"invalid image name {ref!r}",
                          hint="names are lowercase letters, digits and . _ - / separators, e.g. app:1.0 "
                               "or registry.example:5000/team/app:1.0")
    return name


def _normalize(ref: str) -> tuple[str, str]:
    """(familiar ``repo:tag``, "") or ("", what is malformed: "name", "tag" or "digest").

    A digest reference (``repo@sha256:...``) normalises to its repository's ``repo:tag``
    (``latest`` when no tag is given): use :func:`split_reference` to keep the digest."""
    text = ref.strip()
    if text.startswith(BASE_PREFIXES[1:]):
        return text, ""  # an imported archive is named by its source reference
    parts = split_reference(text)
    if isinstance(parts, str):
        return "", parts
    domain, path, tag, _digest = parts
    return f"{familiar_repo(domain, path)}:{tag or 'latest'}", ""


def resolve_image_id(db: sqlite3.Connection, ref: str) -> str | None:
    """The id of the image ``ref`` names (name, name:tag, full id, hex id or unique id prefix), or None."""
    text = ref.strip()
    if "@" in text and not text.startswith(BASE_PREFIXES[1:]):
        return _by_digest(db, text)
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


def _by_digest(db: sqlite3.Connection, text: str) -> str | None:
    """``repo@sha256:...``: a manifest digest recorded for the repository by a pull or push, or
    the image id itself when an image of that repository has it."""
    parts = split_reference(text)
    if isinstance(parts, str):
        return None
    domain, path, _tag, digest = parts
    repo = familiar_repo(domain, path)
    row = db.execute("SELECT image_id FROM image_digests WHERE repo=? AND digest=?",
                     (repo, digest)).fetchone()
    if row:
        return str(row[0])
    for (name,) in db.execute("SELECT name FROM image_names WHERE image_id=?", (digest,)):
        if split_name(name)[0] == repo:
            return digest
    return None


def is_base_source(ref: str) -> bool:
    return ref in BASE_SOURCES or ref.startswith(BASE_PREFIXES)


def is_registry_ref(ref: str) -> bool:
    """True for references only a registry could satisfy (anything that is not a base source)."""
    return not is_base_source(ref)


def repo_digest(db: sqlite3.Connection, ref: str) -> str | None:
    """``repo@sha256:...`` for the image ``ref`` names, as a registry knows it: the manifest digest
    the last push (or pull) of that repository recorded for it; None when it never went there."""
    parts = split_reference(ref.strip())
    image_id = resolve_image_id(db, ref)
    if isinstance(parts, str) or image_id is None:
        return None
    domain, path, _tag, _digest = parts
    repo = familiar_repo(domain, path)
    row = db.execute("SELECT digest FROM image_digests WHERE repo=? AND image_id=? "
                     "ORDER BY rowid DESC LIMIT 1", (repo, image_id)).fetchone()
    return f"{repo}@{row[0]}" if row else None
