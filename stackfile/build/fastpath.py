"""The no-op fast path: a Dockerfile build's plan remembered, and every key of it recomputed cheaply.

After a full build of a Dockerfile the builder's plan is stored (table ``build_plans``) under the
request's key (working directory, context and Dockerfile as given, build args, target). Per stage:
its base (the image reference and the id it resolved to, or an earlier stage); per step: what its
cache key was made of (``keys.step_key(parent, doc, inputs)``), a context COPY's input kept as its
source patterns. Also stored: the cache entries the run used and the image it made.

A later request with the same key and the same Dockerfile bytes (so the same parse) recomputes
every key with the same function: each base must resolve to the id it had (its config fed the
metadata steps' keys); a context COPY's sources are resolved and digested again through the
shared :class:`~stackfile.build.context.BuildContext` and stat cache, under the ignore rules in
force now. When every layer step the builder would look up has the key it had, its cache entry is
still there with the same layers and time, the image row exists and every tag already names it,
the full builder would hit every step and store this same image: that is the answer. Anything
else (or any error) means "ask the full builder", so this path can only be fast, never different.

It imports nothing heavy (no dataclasses, typing, pathlib, hashlib or recipe IR), so the CLI can
answer before click (``stackfile.cli.build_fast``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping

from stackfile.build.cachedb import cache_entry
from stackfile.build.context import BuildContext, dockerfile_patterns, ignore_rules
from stackfile.build.keys import base_key, step_key
from stackfile.build.statcache import StatCache, sha256, stat_cache_file
from stackfile.store import lock
from stackfile.store.db import connect
from stackfile.store.refs import _normalize, resolve_image_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from typing import Any

    from stackfile.build.builder import Builder
    from stackfile.store.images import ImageRecord
    from stackfile.store.paths import StorePaths

__all__ = ["Hit", "check", "record", "request_key"]

# StorePaths' layout, without importing pathlib (tests/unit/build/test_fastpath.py checks they agree)
DB, LAYERS, CACHE = "stackfile.db", "layers", "cache"
VERSION = 1


class Hit:
    """A build answered from its plan: the image and the steps that would each have been a hit."""

    __slots__ = ("dockerfile", "image_id", "steps")

    def __init__(self, image_id: str, steps: list[tuple[str, int, int, str]], dockerfile: str) -> None:
        self.image_id = image_id
        self.steps = steps  # (stage, index, total, step text) of every cached layer step, in order
        self.dockerfile = dockerfile  # its absolute path, as the full build names it


def request_key(cwd: str, context: str, dockerfile: str | None, args: Mapping[str, str],
                target: str | None) -> str:
    """The key of an ``image build`` request: the inputs the Dockerfile's parse depends on."""
    data = [VERSION, cwd, context, dockerfile, sorted(args.items()), target, os.uname().machine]
    return sha256(json.dumps(data).encode()).hexdigest()


_MISSED: set[tuple[str, str, tuple[str, ...]]] = set()  # asked in this process since the last record


def check(root: str, key: str, tags: tuple[str, ...]) -> Hit | None:
    """The image a full build of request ``key`` would store and tag, if it would hit every step.

    A miss (or an error) is remembered in this process until a plan is recorded: the CLI's fast
    path and then the engine ask the same question once, not twice.
    """
    asked = (os.path.normpath(root), key, tags)
    if asked in _MISSED or not os.path.exists(os.path.join(root, DB)):
        return None
    _MISSED.add(asked)
    with lock.shared(root):  # as a build holds it: garbage collection cannot run meanwhile
        hit = _check(root, key, tags)
    if hit is not None:
        _MISSED.discard(asked)
    return hit


def _check(root: str, key: str, tags: tuple[str, ...]) -> Hit | None:
    db = connect(os.path.join(root, DB))
    row = db.execute("SELECT plan FROM build_plans WHERE key=?", (key,)).fetchone()
    if row is None:
        return None
    memo = json.loads(row[0])
    with open(memo["dockerfile"], "rb") as fh:
        if sha256(fh.read()).hexdigest() != memo["sha"]:
            return None
    context = _context(root, memo)  # as Builder._context makes it: a bad ignore file fails here too

    def digest(patterns: list[str], exclude: list[str]) -> str:
        sources: list[str] = []
        for pattern in patterns:
            sources.extend(context.resolve_sources(pattern))
        return context.digest(sources, tuple(exclude))

    stages = _keys(memo, lambda ref, want: resolve_image_id(db, ref) == want, digest)
    if stages is None:
        return None
    steps = _visits(db, os.path.join(root, LAYERS), stages, memo)
    if steps is None or db.execute("SELECT 1 FROM images WHERE id=?", (memo["image"],)).fetchone() is None:
        return None
    for tag in tags:
        name, problem = _normalize(tag)
        named = db.execute("SELECT image_id FROM image_names WHERE name=?", (name,)).fetchone()
        if problem or named is None or named[0] != memo["image"]:
            return None
    context.cache.save()
    return Hit(memo["image"], steps, memo["dockerfile"])


def _context(root: str, memo: dict[str, Any]) -> BuildContext:
    top = memo["root"]
    if not os.path.isdir(top):
        raise FileNotFoundError(top)
    rules = ignore_rules(top, dockerfile_patterns(top, memo["dockerfile"]))
    cache = StatCache(stat_cache_file(os.path.join(root, CACHE), os.path.realpath(top)))
    return BuildContext(top, rules, cache)


def _keys(memo: dict[str, Any], same_image: Callable[[str, str], bool],
          context_digest: Callable[[list[str], list[str]], str]) -> dict[int, list[str]] | None:
    """Every step's key (stage index → keys in step order), made as the planner makes them."""
    out: dict[int, list[str]] = {}
    final: dict[int, str] = {}
    for index, stage in memo["stages"]:
        base = stage["base"]
        if base[0] == "stage":
            parent = final[base[1]]
        elif same_image(base[1], base[2]):
            parent = base_key(base[2])
        else:
            return None
        keys = []
        for step in stage["steps"]:
            if "context" in step:
                inputs: dict[str, Any] = {"context": context_digest(step["context"], step["exclude"])}
            elif "stage" in step:
                inputs = {"stage": final[step["stage"]]}
            elif "image" in step:
                if not same_image(*step["image"]):
                    return None
                inputs = {"image": step["image"][1]}
            else:
                inputs = step["inputs"]
            parent = step_key(parent, step["doc"], inputs)
            keys.append(parent)
        out[index], final[index] = keys, parent
    return out


def _visits(db: sqlite3.Connection, layers_dir: str, keys: dict[int, list[str]],
            memo: dict[str, Any]) -> list[tuple[str, int, int, str]] | None:
    """The layer steps an all-hit run looks up (StageRunner: the base-stage chain, then the target),
    when each one's entry is the one the remembered image was made from."""
    stages = dict((index, stage) for index, stage in memo["stages"])
    chain = [memo["target"]]
    while stages[chain[-1]]["base"][0] == "stage":
        chain.append(stages[chain[-1]]["base"][1])
    out = []
    for index in reversed(chain):
        stage = stages[index]
        total = len(stage["steps"])
        for i, (step, key) in enumerate(zip(stage["steps"], keys[index], strict=True), 1):
            if not step["layer"]:
                continue
            want = memo["entries"].get(key)
            entry = cache_entry(db, key, layers_dir)
            if want is None or entry is None or [list(entry[0]), entry[1]] != want:
                return None
            out.append((stage["name"], i, total, step["text"]))
    return out


def record(paths: StorePaths, key: str, dockerfile: str, root: str, text: bytes, builder: Builder,
           image: ImageRecord) -> bool:
    """Remember the plan of the build ``builder`` just finished (returns whether it could).

    Not remembered: a build whose image time is not fixed by its layers (it changes every time),
    or a plan whose recorded form does not give back every key the planner made.
    """
    from stackfile.build.describe import describe

    last = builder.last
    if last is None or not last.result.created:
        return False
    stages = []
    planned: dict[int, list[str]] = {}
    digests: list[str] = []  # the context digests the planner made, in step order
    for index in sorted(last.planner.stages):
        plan = last.planner.stages[index]
        if plan.base_stage is not None:
            base: list[Any] = ["stage", plan.base_stage.index]
        else:
            assert plan.base_image is not None
            base = ["image", plan.base_ref, plan.base_image.id]
        steps = []
        for ps in plan.steps:
            step: dict[str, Any] = {"doc": ps.doc, "layer": ps.is_layer_step,
                                    "text": describe(ps.step) if ps.is_layer_step else ""}
            if ps.from_stage is not None:
                step["stage"] = ps.from_stage.index
            elif ps.from_image is not None:
                step["image"] = [ps.step.from_, ps.from_image.id]
            elif "context" in ps.inputs:
                step["context"], step["exclude"] = list(ps.step.sources), list(ps.step.exclude)
                digests.append(ps.inputs["context"])
            else:
                step["inputs"] = ps.inputs
            steps.append(step)
        stages.append([index, {"name": plan.name, "base": base, "steps": steps}])
        planned[index] = [ps.key for ps in plan.steps]
    memo = {"dockerfile": dockerfile, "root": root, "sha": sha256(text).hexdigest(), "stages": stages,
            "target": last.target, "image": image.id,
            "entries": {k: [list(layers), created] for k, (layers, created) in last.entries.items()}}
    blob = json.dumps(memo, sort_keys=True, separators=(",", ":"))
    replay = iter(digests)
    if _keys(json.loads(blob), lambda _ref, _id: True, lambda _sources, _exclude: next(replay)) != planned:
        return False
    from stackfile.build.cachedb import BuildCache

    _MISSED.clear()
    BuildCache(paths).db.execute(
        "INSERT INTO build_plans(key, plan) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET plan=excluded.plan",
        (key, blob))
    return True
