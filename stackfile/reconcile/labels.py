"""The labels stamped on every object the reconciler creates (Compose's ``com.docker.compose.*``)."""

from __future__ import annotations

__all__ = [
    "CONFIG_FIELDS",
    "CONFIG_FILES",
    "CONFIG_HASH",
    "DEPENDS_ON",
    "IMAGE",
    "NUMBER",
    "ONEOFF",
    "PROJECT",
    "SERVICE",
    "WORKING_DIR",
]

PROJECT = "io.stackfile.project"
SERVICE = "io.stackfile.service"
NUMBER = "io.stackfile.number"
ONEOFF = "io.stackfile.oneoff"
CONFIG_HASH = "io.stackfile.config-hash"
CONFIG_FIELDS = "io.stackfile.config-fields"  # canonical JSON {field path: short digest}
IMAGE = "io.stackfile.image"  # the image id the container was created from
DEPENDS_ON = "io.stackfile.depends-on"  # comma list, so `down` orders without the file
WORKING_DIR = "io.stackfile.working-dir"
CONFIG_FILES = "io.stackfile.config-files"  # comma list of the stack files, for ``ls``
