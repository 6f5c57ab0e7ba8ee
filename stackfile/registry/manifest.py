"""Manifests and indexes: Docker schema2 and OCI media types, and the platform choice in an index."""

from __future__ import annotations

import json
import platform as _platform
from dataclasses import dataclass
from typing import Any

from stackfile.errors import InvalidSpec, NotFound

__all__ = [
    "ACCEPT",
    "DOCKER_CONFIG",
    "DOCKER_LAYER_GZIP",
    "DOCKER_MANIFEST",
    "Platform",
    "choose",
    "host_platform",
    "is_index",
    "parse_platform",
]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
INDEXES = (DOCKER_LIST, OCI_INDEX)
MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)
ACCEPT = ", ".join((*MANIFESTS, *INDEXES))
LAYER_TYPES = (
    DOCKER_LAYER_GZIP,
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
)

_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i686": "386",
    "i386": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def host_platform() -> Platform:
    machine = _platform.machine()
    arch = _ARCH.get(machine, machine)
    variant = {"arm64": "v8", "armv7l": "v7", "armv6l": "v6"}.get(machine if arch == "arm" else arch, "")
    return Platform("linux", arch, variant)


def parse_platform(text: str) -> Platform:
    """``linux/arm64[/v8]`` (Docker's ``--platform``)."""
    parts = text.strip().lower().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidSpec(
            f"invalid platform {text!r}", hint="os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8"
        )
    arch = _ARCH.get(parts[1], parts[1])
    return Platform(parts[0], arch, parts[2] if len(parts) == 3 else "")


def is_index(media_type: str, doc: dict[str, Any]) -> bool:
    return media_type in INDEXES or (not media_type and "manifests" in doc and "layers" not in doc)


def _platform_of(desc: dict[str, Any]) -> Platform:
    p = desc.get("platform") or {}
    return Platform(str(p.get("os", "")), str(p.get("architecture", "")), str(p.get("variant", "")))


def choose(index: dict[str, Any], want: Platform, where: str) -> dict[str, Any]:
    """The descriptor of ``index`` for ``want`` (a missing variant matches any; arm64 prefers v8)."""
    entries = [d for d in index.get("manifests") or () if isinstance(d, dict)]
    found = [
        d
        for d in entries
        if _platform_of(d).os == want.os and _platform_of(d).architecture == want.architecture
    ]
    if want.variant:
        exact = [d for d in found if _platform_of(d).variant in (want.variant, "")]
        found = exact or ([] if want.architecture == "arm" else found)
    if not found:
        there = sorted({str(_platform_of(d)) for d in entries if _platform_of(d).os != "unknown"})
        raise NotFound(
            f"{where} has no image for {want}; it has: {', '.join(there) or 'no platforms'}",
            hint="pick one with --platform os/arch[/variant]",
        )
    return found[0]


def load(data: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise InvalidSpec(f"{where}: the registry sent a manifest that is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schemaVersion") != 2:
        raise InvalidSpec(
            f"{where}: unsupported manifest (schemaVersion {doc.get('schemaVersion')!r})"
            if isinstance(doc, dict)
            else f"{where}: the manifest is not a JSON object",
            hint="schema 2 Docker and OCI manifests are supported (schema 1 is deprecated)",
        )
    return doc
