"""Read an image's merged file system straight from its layer directories (no mount).

Overlay rules: the top layer wins; a 0/0 character device is a whiteout hiding the name in lower
layers; a directory with ``trusted.overlay.opaque=y`` hides the lower directories' contents.
Used for COPY --from, --chown name lookup and "does this directory exist" questions.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["LayeredView", "is_whiteout", "lookup_id"]


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


class LayeredView:
    """The merged view of ``layers`` (host directories, top first)."""

    def __init__(self, layers: Sequence[str | Path]) -> None:
        self.layers = [str(p) for p in layers]

    def find(self, rel: str) -> str | None:
        """Host path of the top-most visible entry for image path ``rel`` (no symlink following)."""
        parts = [p for p in rel.strip("/").split("/") if p and p != "."]
        for layer in self._layers_for(parts[:-1]):
            path = os.path.join(layer, *parts)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            return None if is_whiteout(st) else path
        return None if parts else (self.layers[0] if self.layers else None)

    def _layers_for(self, parent: list[str]) -> Iterator[str]:
        """Layers that may hold children of directory ``parent`` (stop below an opaque/whiteout)."""
        for layer in self.layers:
            state, opaque = self._walk(layer, parent)
            if state == "blocked":
                return
            if state == "present":
                yield layer
            if opaque:
                return

    @staticmethod
    def _walk(layer: str, parent: list[str]) -> tuple[str, bool]:
        cur = layer
        opaque = False
        for part in parent:
            cur = os.path.join(cur, part)
            try:
                st = os.lstat(cur)
            except OSError:
                return "absent", opaque
            if is_whiteout(st) or not stat.S_ISDIR(st.st_mode):
                return "blocked", False
            opaque = opaque or _opaque(cur)
        return "present", opaque

    def is_dir(self, rel: str) -> bool:
        path = self.find(self.realpath(rel))
        return path is not None and stat.S_ISDIR(os.lstat(path).st_mode)

    def realpath(self, rel: str) -> str:
        """``rel`` with the image's symlinks resolved inside the image root (absolute result)."""
        todo = [p for p in rel.split("/") if p and p != "."]
        done: list[str] = []
        hops = 0
        while todo:
            part = todo.pop(0)
            if part == "..":
                done = done[:-1]
                continue
            path = self.find("/".join([*done, part]))
            if path is not None and os.path.islink(path) and hops < 40:
                hops += 1
                target = os.readlink(path)
                todo = [p for p in target.split("/") if p and p != "."] + todo
                if target.startswith("/"):
                    done = []
                continue
            done.append(part)
        return "/" + "/".join(done)

    def listdir(self, rel: str) -> list[str]:
        """Merged, sorted names of directory ``rel``."""
        parts = [p for p in rel.strip("/").split("/") if p and p != "."]
        seen: dict[str, bool] = {}
        for layer in self._layers_for(parts):
            path = os.path.join(layer, *parts)
            try:
                names = os.listdir(path)
            except OSError:
                continue
            for name in names:
                if name not in seen:
                    seen[name] = is_whiteout(os.lstat(os.path.join(path, name)))
        return sorted(n for n, hidden in seen.items() if not hidden)

    def read_text(self, rel: str) -> str | None:
        path = self.find(rel)
        if path is None:
            return None
        try:
            return Path(path).read_text(errors="replace")
        except OSError:
            return None


def lookup_id(view: LayeredView, name: str, database: str) -> int | None:
    """uid/gid of ``name`` in the image's /etc/passwd or /etc/group; numeric names pass through."""
    if name.isdigit():
        return int(name)
    text = view.read_text(f"/etc/{database}") or ""
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[0] == name and fields[2].isdigit():
            return int(fields[2])
    return None
