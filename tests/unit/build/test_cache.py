"""Cache hits and misses counted exactly, with a fake executor (buildkit's scheduler-test style)."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stackfile.build.builder import Builder
from stackfile.build.events import StepCached, StepStarted
from stackfile.events import Event
from stackfile.spec import recipe as ir
from stackfile.store.paths import StorePaths
from tests.unit.build.fakes import FakeExecutor


@pytest.fixture()
def paths(store_root: Path) -> StorePaths:
    return StorePaths.at(store_root).ensure()


@pytest.fixture()
def context(tmp_path: Path) -> Iterator[Path]:
    ctx = tmp_path / "ctx"
    (ctx / "src" / "sub").mkdir(parents=True)
    (ctx / "src" / "a.txt").write_text("alpha\n")
    (ctx / "src" / "sub" / "b.txt").write_text("beta\n")
    (ctx / "notes.md").write_text("not copied\n")
    yield ctx


def recipe(context: Path, *steps: object, base: str = "busybox", args: tuple = ()) -> ir.Recipe:
    return ir.Recipe(stages=(ir.Stage(ir.From(base), tuple(steps)),), context=str(context), args=args)


class Counter:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def counts(self) -> tuple[int, int]:
        hits = sum(isinstance(e, StepCached) for e in self.events)
        misses = sum(isinstance(e, StepStarted) for e in self.events)
        self.events.clear()
        return hits, misses


def build(paths: StorePaths, r: ir.Recipe, fake: FakeExecutor, counter: Counter, **kw: object):
    return Builder(paths, sink=counter, executor=fake, **kw).build(r, ("app",))  # type: ignore[arg-type]


STEPS = (ir.Run(("echo one",)), ir.Env((("MODE", "x"),)), ir.Run(("echo two",)),
         ir.Copy(("src",), "/app/"), ir.Run(("echo three",)))


def test_noop_rebuild_is_all_hits_and_same_image(paths: StorePaths, context: Path) -> None:
    fake, counter = FakeExecutor(paths), Counter()
    first = build(paths, recipe(context, *STEPS), fake, counter)
    assert counter.counts() == (0, 4)
    assert fake.commands == ["echo one", "echo two", "echo three"]
    second = build(paths, recipe(context, *STEPS), fake, counter)
    assert counter.counts() == (4, 0)
    assert len(fake.jobs) == 3
    assert second.id == first.id
    assert second.names == ("app:latest",)


def test_touch_only_is_all_hits_and_rereads_only_the_touched_file(paths: StorePaths, context: Path) -> None:
    fake, counter = FakeExecutor(paths), Counter()
    build(paths, recipe(context, *STEPS), fake, counter)
    counter.counts()
    st = os.stat(context / "src" / "a.txt")
    os.utime(context / "src" / "a.txt", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    time.sleep(0.03)  # out of the racy window (statcache.RACY_NS): else the new stat is not remembered
    builder = Builder(paths, sink=counter, executor=fake)
    builder.build(recipe(context, *STEPS), ("app",))
    assert counter.counts() == (4, 0)
    assert len(fake.jobs) == 3
    from stackfile.build.statcache import StatCache

    cache = StatCache.for_context(paths, context.resolve())
    assert str(context.resolve() / "src" / "a.txt") in cache._entries


def test_content_change_misses_from_that_step_on(paths: StorePaths, context: Path) -> None:
    fake, counter = FakeExecutor(paths), Counter()
    first = build(paths, recipe(context, *STEPS), fake, counter)
    counter.counts()
    (context / "src" / "sub" / "b.txt").write_text("changed\n")
    second = build(paths, recipe(context, *STEPS), fake, counter)
    assert counter.counts() == (2, 2)  # RUN one, RUN two cached; COPY and RUN three ran
    assert fake.commands[3:] == ["echo three"]
    assert second.id != first.id
    assert second.layers[:3] == first.layers[:3]
    copied = Path(paths.layer(second.layers[3])) / "app" / "sub" / "b.txt"
    assert copied.read_text() == "changed\n"


def test_env_change_misses_after_it_only(paths: StorePaths, context: Path) -> None:
    fake, counter = FakeExecutor(paths), Counter()
    build(paths, recipe(context, *STEPS), fake, counter)
    counter.counts()
    steps = list(STEPS)
    steps[1] = ir.Env((("MODE", "y"),))
    build(paths, recipe(context, *steps), fake, counter)
    assert counter.counts() == (1, 3)
    assert fake.jobs[-1].env["MODE"] == "y"


def test_no_cache_runs_everything(paths: StorePaths, context: Path) -> None:
    fake, counter = FakeExecutor(paths), Counter()
    build(paths, recipe(context, *STEPS), fake, counter)
    counter.counts()
    build(paths, recipe(context, *STEPS), fake, counter, no_cache=True)
    assert counter.counts() == (0, 4)
    assert len(fake.jobs) == 6


def test_build_args_change_the_key_of_later_runs(paths: StorePaths, context: Path) -> None:
    fake, counter = FakeExecutor(paths), Counter()
    steps = (ir.Run(("echo before",)), ir.Arg("VERSION", "1"), ir.Run(("echo v$VERSION",)))
    build(paths, recipe(context, *steps), fake, counter)
    assert counter.counts() == (0, 2)
    assert fake.jobs[-1].env["VERSION"] == "1"
    build(paths, recipe(context, *steps, args=(("VERSION", "2"),)), fake, counter)
    assert counter.counts() == (1, 1)
    assert fake.jobs[-1].env["VERSION"] == "2"
    build(paths, recipe(context, *steps), fake, counter, build_args={"VERSION": "1"})
    assert counter.counts() == (2, 0)


def test_empty_run_adds_no_layer(paths: StorePaths, context: Path) -> None:
    fake, counter = FakeExecutor(paths), Counter()
    image = build(paths, recipe(context, ir.Run(("true",)), ir.Run(("echo x",))), fake, counter)
    base = build(paths, recipe(context), fake, counter)
    assert len(image.layers) == len(base.layers) + 1
    assert [h["empty_layer"] for h in image.history[-2:]] == [True, False]


def test_cache_mount_dir_persists_outside_the_key(paths: StorePaths, context: Path) -> None:
    fake, counter = FakeExecutor(paths), Counter()
    step = ir.Run(("echo cached",), cache_mounts=(ir.CacheMount(target="/root/.cache"),))
    build(paths, recipe(context, step), fake, counter)
    build(paths, recipe(context, step), fake, counter, no_cache=True)
    source = Path(fake.jobs[-1].cache_dirs[0].source)
    assert fake.jobs[-1].cache_dirs[0].target == "/root/.cache"
    assert source.is_relative_to(paths.cache)
    assert (source / "hits").read_text() == "xx"


def test_source_locations_are_not_part_of_the_key(paths: StorePaths, context: Path) -> None:
    fake, counter = FakeExecutor(paths), Counter()
    moved = tuple(ir.Run(s.command, source=ir.Source("Dockerfile", 40 + i)) if isinstance(s, ir.Run) else s
                  for i, s in enumerate(STEPS))
    first = build(paths, recipe(context, *STEPS), fake, counter)
    counter.counts()
    second = build(paths, recipe(context, *moved), fake, counter)
    assert counter.counts() == (4, 0) and second.id == first.id


def _copied(paths: StorePaths, image: object, rel: str) -> Path:
    return Path(paths.layer(image.layers[3])) / "app" / rel  # type: ignore[attr-defined]


def test_mode_change_misses_from_the_copy_on(paths: StorePaths, context: Path) -> None:
    fake, counter = FakeExecutor(paths), Counter()
    first = build(paths, recipe(context, *STEPS), fake, counter)
    counter.counts()
    os.chmod(context / "src" / "a.txt", 0o755)  # same content, same mtime: only the mode differs
    second = build(paths, recipe(context, *STEPS), fake, counter)
    assert counter.counts() == (2, 2)
    assert second.layers[:3] == first.layers[:3] and second.layers[3] != first.layers[3]
    assert stat.S_IMODE(_copied(paths, second, "a.txt").stat().st_mode) == 0o755


def test_symlink_target_change_misses_from_the_copy_on(paths: StorePaths, context: Path) -> None:
    fake, counter = FakeExecutor(paths), Counter()
    os.symlink("a.txt", context / "src" / "link")
    first = build(paths, recipe(context, *STEPS), fake, counter)
    counter.counts()
    (context / "src" / "link").unlink()
    os.symlink("sub/b.txt", context / "src" / "link")
    second = build(paths, recipe(context, *STEPS), fake, counter)
    assert counter.counts() == (2, 2)
    assert second.layers[3] != first.layers[3]
    assert os.readlink(_copied(paths, second, "link")) == "sub/b.txt"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown)")
def test_owner_in_the_copy_step_changes_the_key_and_the_source_owner_does_not(
        paths: StorePaths, context: Path) -> None:
    """COPY writes 0:0 (or --chown's owner) whatever the context files' owner, as Docker does: a
    source chown changes nothing copied, so it keeps the cache; --chown changes the output, so it misses."""
    fake, counter = FakeExecutor(paths), Counter()
    first = build(paths, recipe(context, *STEPS), fake, counter)
    counter.counts()
    os.chown(context / "src" / "a.txt", 1234, 1234)
    time.sleep(0.03)
    again = build(paths, recipe(context, *STEPS), fake, counter)
    assert counter.counts() == (4, 0) and again.id == first.id
    copied = _copied(paths, again, "a.txt").stat()
    assert (copied.st_uid, copied.st_gid) == (0, 0)
    steps = list(STEPS)
    steps[3] = ir.Copy(("src",), "/app/", chown="1000:1000")
    owned = build(paths, recipe(context, *steps), fake, counter)
    assert counter.counts() == (2, 2)
    assert _copied(paths, owned, "a.txt").stat().st_uid == 1000
    steps[3] = ir.Copy(("src",), "/app/", chown="1000:1000", chmod="600")
    moded = build(paths, recipe(context, *steps), fake, counter)
    assert counter.counts() == (2, 2)  # --chmod is part of the key too
    assert stat.S_IMODE(_copied(paths, moded, "a.txt").stat().st_mode) == 0o600
