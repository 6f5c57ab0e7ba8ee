"""COPY/ADD into a fresh layer directory (no container): Docker's destination rules, --chown,
--chmod, parent directories that keep the image's attributes, local tar archives extracted."""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from stackfile.build.context import Entry
from stackfile.build.rootfs import LayeredView

__all__ = ["CopyPlan", "SourceItem", "copy_into", "ensure_dirs", "view_walk"]


class SourceItem(NamedTuple):
    """One resolved COPY source: its name (basename used for file destinations) and its entries."""

    name: str
    is_dir: bool
    entries: Iterable[Entry]
    host_path: str


class CopyPlan(NamedTuple):
    dest: str  # absolute image path, as written (a trailing "/" means "into this directory")
    owner: tuple[int, int] | None = None
    mode: int | None = None
    extract_archives: bool = False


def view_walk(view: LayeredView, rel: str) -> Iterator[Entry]:
    """Entries of an image path (itself first), through the merged layer view."""
    path = view.find(rel)
    if path is None:
        return
    yield Entry(path, ".", os.lstat(path))
    if view.is_dir(rel):
        yield from _view_dir(view, rel.rstrip("/"), "")


def _view_dir(view: LayeredView, rel: str, prefix: str) -> Iterator[Entry]:
    for name in view.listdir(rel):
        child = f"{rel}/{name}"
        path = view.find(child)
        if path is None:
            continue
        yield Entry(path, prefix + name, os.lstat(path))
        if view.is_dir(child):
            yield from _view_dir(view, child, prefix + name + "/")


def copy_into(layer: Path, image: LayeredView, items: list[SourceItem], plan: CopyPlan) -> None:
    """Write the COPY result into ``layer`` (the new layer's directory)."""
    into_dir = plan.dest.endswith("/") or len(items) > 1 or image.is_dir(plan.dest)
    for item in items:
        if item.is_dir:
            target = plan.dest
        elif plan.extract_archives and _is_archive(item.host_path):
            from stackfile.store.archive import extract_layer

            dest = image.realpath(plan.dest)
            ensure_dirs(layer, image, dest, plan.owner, last_owned=True)
            with open(item.host_path, "rb") as fh:
                extract_layer(fh, layer / dest.strip("/"), archive=item.host_path,
                              whiteouts=False, allow_absolute_links=False, owners=False)
            continue
        else:
            target = posixpath.join(plan.dest, item.name) if into_dir else plan.dest
        _copy_item(layer, image, item, target, plan)


def _is_archive(path: str) -> bool:
    import tarfile

    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _copy_item(layer: Path, image: LayeredView, item: SourceItem, target: str, plan: CopyPlan) -> None:
    target = posixpath.normpath("/" + target)
    target = posixpath.join(image.realpath(posixpath.dirname(target)), posixpath.basename(target))
    if image.is_dir(target):
        target = image.realpath(target)
    parent = posixpath.dirname(target) if not item.is_dir else target
    ensure_dirs(layer, image, parent, plan.owner, last_owned=item.is_dir)
    for e in item.entries:
        rel = target if e.rel == "." else posixpath.join(target, e.rel)
        if e.rel == "." and item.is_dir:
            continue
        dst = layer / rel.lstrip("/")
        if e.rel != ".":
            ensure_dirs(layer, image, posixpath.dirname(rel), None, last_owned=False)
        _copy_entry(e, dst, plan)


def _copy_entry(e: Entry, dst: Path, plan: CopyPlan) -> None:
    mode = e.st.st_mode
    if os.path.lexists(dst) and not (stat.S_ISDIR(mode) and dst.is_dir() and not dst.is_symlink()):
        shutil.rmtree(dst) if dst.is_dir() and not dst.is_symlink() else dst.unlink()
    if stat.S_ISDIR(mode):
        dst.mkdir(exist_ok=True)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(e.path), dst)
    elif stat.S_ISREG(mode):
        shutil.copyfile(e.path, dst, follow_symlinks=False)
    else:
        return  # sockets, fifos, devices are not copied
    uid, gid = plan.owner or (0, 0)
    if os.geteuid() == 0:
        os.chown(dst, uid, gid, follow_symlinks=False)
    if not stat.S_ISLNK(mode):
        os.chmod(dst, plan.mode if plan.mode is not None else stat.S_IMODE(mode))
        os.utime(dst, ns=(e.st.st_atime_ns, e.st.st_mtime_ns))


def ensure_dirs(layer: Path, image: LayeredView, path: str, owner: tuple[int, int] | None,
                 last_owned: bool) -> None:
    """Create ``path``'s directories in ``layer`` with the attributes they have in the image."""
    parts = [p for p in path.split("/") if p]
    cur = ""
    for i, part in enumerate(parts):
        cur += "/" + part
        dst = layer / cur.lstrip("/")
        if dst.is_dir() and not dst.is_symlink():
            continue
        existing = image.find(cur)
        dst.mkdir()
        if existing is not None and os.path.isdir(existing):
            st = os.stat(existing)
            os.chmod(dst, stat.S_IMODE(st.st_mode))
            if os.geteuid() == 0:
                os.chown(dst, st.st_uid, st.st_gid)
        else:
            os.chmod(dst, 0o755)
            if os.geteuid() == 0 and owner is not None and (last_owned and i == len(parts) - 1):
                os.chown(dst, *owner)
