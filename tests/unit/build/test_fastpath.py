"""The whole-build fast path: hits only when every input's stat and every base are unchanged."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from stackfile.build.events import ImageBuilt, StepCached, StepStarted
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
    """Move every mtime into the past (outside the racy window)."""
    past = time.time() - seconds
    for dirpath, dirs, files in os.walk(ctx):
        for name in dirs + files:
            os.utime(os.path.join(dirpath, name), (past, past))
    os.utime(ctx, (past, past))


def _kinds(paths: StorePaths, ctx: Path) -> tuple[str, list[type]]:
    events: list[Event] = []
    image = build_dockerfile(paths, str(ctx), tags=("app",), sink=events.append)
    return image.id, [type(e) for e in events]


def test_unchanged_inputs_hit_the_fast_path(project: tuple[StorePaths, Path]) -> None:
    paths, ctx = project
    first, kinds = _kinds(paths, ctx)
    assert StepStarted in kinds
    again, kinds = _kinds(paths, ctx)
    assert again == first and kinds == [ImageBuilt]  # no step was even looked at


def test_touch_misses_the_fast_path_but_every_step_hits(project: tuple[StorePaths, Path]) -> None:
    paths, ctx = project
    first, _ = _kinds(paths, ctx)
    os.utime(ctx / "app" / "main.sh", (time.time() - 30, time.time() - 30))
    again, kinds = _kinds(paths, ctx)
    assert again == first and StepCached in kinds and StepStarted not in kinds
    assert _kinds(paths, ctx)[1] == [ImageBuilt]  # the new stats were recorded


def test_a_retagged_base_misses(project: tuple[StorePaths, Path]) -> None:
    paths, ctx = project
    first, _ = _kinds(paths, ctx)
    store = ImageStore(paths)
    other = store.put(store.get("busybox").layers, {"Env": ["X=1"]}, names=["busybox"])
    again, kinds = _kinds(paths, ctx)
    assert again != first and StepStarted in kinds
    assert store.get(again).config["Env"][0] == "X=1" and other.id != first


def test_recently_changed_files_are_not_trusted(project: tuple[StorePaths, Path]) -> None:
    paths, ctx = project
    (ctx / "app" / "main.sh").write_text("echo new\n")  # mtime: now (racy)
    _kinds(paths, ctx)
    _, kinds = _kinds(paths, ctx)
    assert kinds != [ImageBuilt]  # not answered from the fast path
    assert StepCached in kinds
