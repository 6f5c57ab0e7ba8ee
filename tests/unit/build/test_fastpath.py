"""The remembered-plan fast path: it answers only what the full builder would (every step a hit)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from stackfile.build import fastpath
from stackfile.build.events import ImageBuilt, StepStarted
from stackfile.engine.images import build_dockerfile
from stackfile.events import Event
from stackfile.store.images import ImageStore
from stackfile.store.paths import StorePaths


@pytest.fixture()
def project(store_root: Path, tmp_path: Path) -> tuple[StorePaths, Path]:
    ctx = tmp_path / "ctx"
    (ctx / "app").mkdir(parents=True)
    (ctx / "app" / "main.sh").write_text("echo main\n")
    (ctx / "Dockerfile").write_text("FROM busybox\nWORKDIR /srv\nCOPY app/ ./app/\nCMD [\"sh\"]\n")
    _age(ctx)
    return StorePaths.at(store_root), ctx


def _age(ctx: Path, seconds: float = 60.0) -> None:
    """Move every mtime into the past (and the ctimes out of the racy window)."""
    past = time.time() - seconds
    for dirpath, dirs, files in os.walk(ctx):
        for name in dirs + files:
            os.utime(os.path.join(dirpath, name), (past, past))
    os.utime(ctx, (past, past))
    time.sleep(0.03)


def _build(paths: StorePaths, ctx: Path) -> tuple[str, list[Event]]:
    events: list[Event] = []
    image = build_dockerfile(paths, str(ctx), tags=("app",), sink=events.append)
    return image.id, events


def _check(paths: StorePaths, ctx: Path) -> fastpath.Hit | None:
    key = fastpath.request_key(os.getcwd(), str(ctx), None, {}, None)
    return fastpath.check(str(paths.root), key, ("app",))


def _shape(events: list[Event]) -> list[tuple[str, str]]:
    return [(type(e).__name__, getattr(e, "step", "")) for e in events]


def test_the_layout_is_the_stores() -> None:
    paths = StorePaths.at("/x")
    assert str(paths.db) == os.path.join("/x", fastpath.DB)
    assert str(paths.layers) == os.path.join("/x", fastpath.LAYERS)
    assert str(paths.cache) == os.path.join("/x", fastpath.CACHE)


def test_unchanged_inputs_hit_with_the_events_of_an_all_hit_build(project: tuple[StorePaths, Path]) -> None:
    paths, ctx = project
    assert _check(paths, ctx) is None
    first, events = _build(paths, ctx)
    assert StepStarted in [type(e) for e in events]
    hit = _check(paths, ctx)
    assert hit is not None and hit.image_id == first
    assert hit.steps == [("0", 1, 3, "WORKDIR /srv"), ("0", 2, 3, "COPY app/ /srv/app/")]
    again, events = _build(paths, ctx)
    assert again == first
    assert _shape(events) == [("StepCached", "WORKDIR /srv"), ("StepCached", "COPY app/ /srv/app/"),
                              ("ImageBuilt", "")]
    built = events[-1]
    assert isinstance(built, ImageBuilt) and built.cached_steps == 2 and built.tags == ("app",)


def test_touch_hits(project: tuple[StorePaths, Path]) -> None:
    paths, ctx = project
    first, _ = _build(paths, ctx)
    os.utime(ctx / "app" / "main.sh", (time.time() - 30, time.time() - 30))
    hit = _check(paths, ctx)
    assert hit is not None and hit.image_id == first


def test_a_content_change_misses(project: tuple[StorePaths, Path]) -> None:
    paths, ctx = project
    _build(paths, ctx)
    (ctx / "app" / "main.sh").write_text("echo niam\n")
    assert _check(paths, ctx) is None
    _, events = _build(paths, ctx)
    assert _shape(events)[:2] == [("StepCached", "WORKDIR /srv"), ("StepStarted", "COPY app/ /srv/app/")]


def test_a_retagged_base_misses(project: tuple[StorePaths, Path]) -> None:
    paths, ctx = project
    first, _ = _build(paths, ctx)
    store = ImageStore(paths)
    other = store.put(store.get("busybox").layers, {"Env": ["X=1"]}, names=["busybox"])
    assert _check(paths, ctx) is None
    again, events = _build(paths, ctx)
    assert again != first and StepStarted in [type(e) for e in events]
    assert store.get(again).config["Env"][0] == "X=1" and other.id != first
