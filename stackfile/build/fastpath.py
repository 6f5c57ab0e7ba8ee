"""The no-op fast path: a whole build remembered under a fingerprint of its inputs' stats.

Fingerprint = sha256 over the Dockerfile's bytes and path, the build args, the target, the
ignore file, and the stat (path, mode, size, mtime_ns, inode) of every context entry the ignore
rules keep. A hit still checks that the image, its layers and the base images it was built from
(by name → id) are unchanged. Any miss (a touched file, a pruned layer, a retagged base) falls back
to the full build, whose per-step cache keys are content-based; so this path can only be fast,
never wrong. It imports almost nothing: os, hashlib, json, the store database.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackfile.build.cachedb import BuildCache
from stackfile.store.paths import StorePaths

__all__ = ["FastHit", "fingerprint", "lookup", "record"]

FastHit = tuple[str, int]  # (image id, steps)


RACY_NS = 20_000_000  # > 4 coarse mtime ticks at HZ=250; a later change gets a different mtime


def fingerprint(dockerfile: Path, text: bytes, context: Path, args: Mapping[str, str],
                target: str | None, ignore_file: Path | None) -> tuple[str, bool]:
    """(fingerprint, racy): racy when some entry changed too recently to trust its mtime
    (git's "racily clean" problem); a racy fingerprint must not be recorded."""
    now = time.time_ns()
    h = hashlib.sha256()
    h.update(json.dumps([str(dockerfile), str(context), sorted(args.items()), target]).encode())
    h.update(hashlib.sha256(text).digest())
    patterns: list[str] = []
    if ignore_file is not None:
        raw = ignore_file.read_bytes()
        h.update(str(ignore_file).encode() + hashlib.sha256(raw).digest())
        patterns = raw.decode("utf-8", "surrogateescape").splitlines()
    newest = _walk(h, str(context), "", _rules(patterns))
    return h.hexdigest(), newest > now - RACY_NS


def _rules(patterns: list[str]) -> Any:
    if not [p for p in patterns if p.strip() and not p.startswith("#")]:
        return None
    from stackfile.spec.ignore import IgnoreRules

    return IgnoreRules(p for p in patterns if not p.startswith("#"))


def _walk(h: hashlib._Hash, top: str, prefix: str, rules: Any) -> int:
    newest = 0
    with os.scandir(top) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        rel = prefix + e.name
        st = e.stat(follow_symlinks=False)
        is_dir = e.is_dir(follow_symlinks=False)
        if rules is not None and rules.ignored(rel, is_dir) and (not is_dir or rules.can_skip_dir(rel)):
            continue
        h.update(f"{rel}\0{st.st_mode}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
        newest = max(newest, st.st_mtime_ns)
        if is_dir:
            newest = max(newest, _walk(h, e.path, rel + "/", rules))
    return newest


def lookup(paths: StorePaths, fp: str) -> FastHit | None:
    """The image a build with fingerprint ``fp`` made, if it and everything it came from still are."""
    if not paths.db.exists():
        return None
    db = BuildCache(paths).db
    row = db.execute("SELECT image_id, bases, steps FROM build_fast WHERE fingerprint=?", (fp,)).fetchone()
    if row is None:
        return None
    image = db.execute("SELECT layers FROM images WHERE id=?", (row[0],)).fetchone()
    if image is None or not all(paths.layer(lid).is_dir() for lid in json.loads(image[0])):
        return None
    for name, image_id in json.loads(row[1]).items():
        now = db.execute("SELECT image_id FROM image_names WHERE name=?", (name,)).fetchone()
        if now is None or now[0] != image_id:
            return None
    return str(row[0]), int(row[2])


def record(paths: StorePaths, fp: str, image_id: str, bases: Mapping[str, str], steps: int) -> None:
    BuildCache(paths).db.execute(
        "INSERT INTO build_fast(fingerprint, image_id, bases, steps) VALUES(?,?,?,?) "
        "ON CONFLICT(fingerprint) DO UPDATE SET image_id=excluded.image_id, bases=excluded.bases, "
        "steps=excluded.steps", (fp, image_id, json.dumps(dict(sorted(bases.items()))), steps))
