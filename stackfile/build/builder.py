"""The builder: plan every key, look each layer step up in the cache, run only the misses.

Emits typed events (stackfile.build.events); RUN goes to an :class:`~stackfile.build.executor.Executor`
(a runtime container by default), COPY/ADD write a layer directly, metadata steps touch the config.
The whole build holds the store lock shared, so garbage collection cannot remove a layer in use.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackfile.build.cachedb import BuildCache
from stackfile.build.config import ImageConfig
from stackfile.build.context import BuildContext
from stackfile.build.copy import CopyPlan, SourceItem, copy_into, ensure_dirs, view_walk
from stackfile.build.describe import describe
from stackfile.build.events import ImageBuilt, StepCached, StepDone, StepOutput, StepStarted
from stackfile.build.executor import CacheDir, Executor, RunJob
from stackfile.build.plan import PlannedStep, Planner, StagePlan, location_of
from stackfile.build.rootfs import LayeredView, lookup_id
from stackfile.build.statcache import StatCache
from stackfile.errors import InvalidSpec, Location, NotFound
from stackfile.events import EventSink, discard
from stackfile.spec import recipe as ir
from stackfile.store import lock
from stackfile.store.images import ImageRecord, ImageStore
from stackfile.store.layers import LayerStore
from stackfile.store.paths import StorePaths

__all__ = ["Builder", "build_many"]


class StageResult:
    """A built stage: its layers (bottom first), config, creation time and history."""

    __slots__ = ("config", "created", "history", "layers")

    def __init__(self, layers: tuple[str, ...], config: ImageConfig, created: str,
                 history: list[dict[str, Any]]) -> None:
        self.layers, self.config, self.created, self.history = layers, config, created, history


class Builder:
    """Builds recipes into the store. One instance may build several recipes (sequentially)."""

    def __init__(self, paths: StorePaths, *, sink: EventSink = discard, no_cache: bool = False,
                 executor: Executor | None = None, build_args: Mapping[str, str] | None = None) -> None:
        self.paths = paths
        self.sink = sink
        self.no_cache = no_cache
        self._executor = executor
        self.build_args = dict(build_args or {})
        self.cache = BuildCache(paths)
        self.layers = LayerStore(paths)
        self.images = ImageStore(paths)
        self.cached = 0
        self.ran = 0
        self.resolved: dict[str, str] = {}  # image refs the builds resolved → ids (bases, COPY --from)

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            from stackfile.build.run import RuntimeExecutor

            self._executor = RuntimeExecutor(self.paths)
        return self._executor

    def build(self, recipe: ir.Recipe, tags: tuple[str, ...] = (), *, name: str = "") -> ImageRecord:
        """Build ``recipe`` (its target stage) and tag the image with ``tags``."""
        start = time.perf_counter()
        cached0, ran0 = self.cached, self.ran
        self.paths.ensure()
        with lock.shared(self.paths):
            context, statcache = self._context(recipe)
            args = {**dict(recipe.args), **self.build_args}
            planner = Planner(recipe, context, self._resolve, args)
            target = planner.target()
            if statcache is not None:
                statcache.save()
            runner = _StageRunner(self, name or (tags[0] if tags else ""), context)
            result = runner.run(target)
            config = result.config.oci()
            labels = dict(recipe.labels)
            if labels:
                config["Labels"] = dict(sorted({**config.get("Labels", {}), **labels}.items()))
            image = self.images.put(result.layers, config, created=result.created,
                                    history=result.history, names=tags)
        self.sink(ImageBuilt(message=f"built {image.short_id}", image=name or ",".join(tags),
                             image_id=image.id, tags=tuple(tags), seconds=time.perf_counter() - start,
                             cached_steps=self.cached - cached0, ran_steps=self.ran - ran0))
        return image

    def _resolve(self, ref: str, where: Location) -> ImageRecord:
        image = self.images.resolve(ref)
        if image is None:  # a base source to materialise, or an error naming what is missing
            from stackfile.build.bases import resolve_image

            image = resolve_image(self.paths, ref, where)
        for name in image.names:
            self.resolved[name] = image.id
        return image

    def _context(self, recipe: ir.Recipe) -> tuple[BuildContext | None, StatCache | None]:
        if not recipe.context:
            return None, None
        root = Path(recipe.context)
        if not root.is_dir():
            raise NotFound(f"build context {root} is not a directory", location=_loc(recipe.source))
        from stackfile.spec.ignore import IgnoreRules

        patterns = recipe.ignore_patterns
        rules = IgnoreRules(patterns) if patterns else IgnoreRules.for_context(root)
        statcache = StatCache.for_context(self.paths, root.resolve())
        return BuildContext(root, rules, statcache), statcache


class _StageRunner:
    """Runs planned stages of one recipe (each stage at most once)."""

    def __init__(self, builder: Builder, image: str, context: BuildContext | None) -> None:
        self.b = builder
        self.image = image
        self.context = context
        self.done: dict[int, StageResult] = {}

    def run(self, plan: StagePlan) -> StageResult:
        if plan.index not in self.done:
            self.done[plan.index] = self._run(plan)
        return self.done[plan.index]

    def _run(self, plan: StagePlan) -> StageResult:
        if plan.base_stage is not None:
            base = self.run(plan.base_stage)
            layers, created, history = base.layers, base.created, list(base.history)
        else:
            assert plan.base_image is not None
            img = plan.base_image
            layers, created, history = img.layers, img.created, list(img.history)
        total = len(plan.steps)
        for i, ps in enumerate(plan.steps, 1):
            text = describe(ps.step)
            info: dict[str, Any] = dict(image=self.image, stage=plan.name, index=i, total=total, step=text)
            if not ps.is_layer_step:
                history.append({"created_by": text, "empty_layer": True})
                continue
            hit = None if self.b.no_cache else self.b.cache.get(ps.key)
            if hit is not None:
                self.b.cached += 1
                self.b.sink(StepCached(message=f"CACHED {text}", **info))
                new, when = hit
            else:
                self.b.ran += 1
                self.b.sink(StepStarted(message=text, **info))
                t0 = time.perf_counter()
                new, when = self.b.cache.put(ps.key, self._execute(ps, layers))
                self.b.sink(StepDone(message=text, seconds=time.perf_counter() - t0, **info))
            if new:
                created = when
                layers = layers + new
            history.append({"created": when, "created_by": text, "empty_layer": not new})
        return StageResult(layers, plan.config, created, history)

    def _execute(self, ps: PlannedStep, layers: tuple[str, ...]) -> tuple[str, ...]:
        lowers = tuple(str(self.b.paths.layer(lid)) for lid in reversed(layers))
        if isinstance(ps.step, ir.Workdir):
            return self._workdir(ps, lowers)
        if isinstance(ps.step, ir.Copy):
            return self._copy(ps, lowers)
        return self._run_step(ps, lowers)

    def _commit(self, directory: Path | None, origin: str) -> tuple[str, ...]:
        if directory is None:
            return ()
        if not any(os.scandir(directory)):
            shutil.rmtree(directory, ignore_errors=True)
            return ()
        return (self.b.layers.commit(directory, origin=origin),)

    def _workdir(self, ps: PlannedStep, lowers: tuple[str, ...]) -> tuple[str, ...]:
        view = LayeredView(lowers)
        path = ps.config.workdir
        if view.is_dir(path) or path == "/":
            return ()
        tmp = self.b.layers.scratch_dir("workdir-")
        try:
            ensure_dirs(tmp, view, view.realpath(path), None, last_owned=False)
            return self._commit(tmp, "WORKDIR")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _copy(self, ps: PlannedStep, lowers: tuple[str, ...]) -> tuple[str, ...]:
        step: ir.Copy = ps.step
        view = LayeredView(lowers)
        items = self._copy_items(ps)
        plan = CopyPlan(dest=step.dest, owner=self._owner(step, view), mode=_mode(step),
                        extract_archives=step.add)
        tmp = self.b.layers.scratch_dir("copy-")
        try:
            copy_into(tmp, view, items, plan)
            return self._commit(tmp, describe(step))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _copy_items(self, ps: PlannedStep) -> list[SourceItem]:
        step: ir.Copy = ps.step
        if ps.from_stage is None and ps.from_image is None:
            ctx = self.context
            assert ctx is not None
            return [SourceItem(src.name, src.is_dir() and not src.is_symlink(), ctx.walk(src), str(src))
                    for src in ps.sources]
        if ps.from_stage is not None:
            layers = self.run(ps.from_stage).layers
        else:
            assert ps.from_image is not None
            layers = ps.from_image.layers
        view = LayeredView([str(self.b.paths.layer(lid)) for lid in reversed(layers)])
        items = []
        for src in step.sources:
            real = view.realpath(src)
            if view.find(real) is None:
                raise NotFound(f"COPY --from={step.from_}: {src} does not exist in that image",
                               location=location_of(step))
            host = view.find(real) or ""
            items.append(SourceItem(os.path.basename(real) or "/", view.is_dir(real),
                                    list(view_walk(view, real)), host))
        return items

    def _owner(self, step: ir.Copy, view: LayeredView) -> tuple[int, int] | None:
        if not step.chown:
            return None
        user, _, group = step.chown.partition(":")
        uid = lookup_id(view, user, "passwd")
        by_name = not (group or user.isdigit())
        gid = _primary_gid(view, user) if by_name else lookup_id(view, group or user, "group")
        if uid is None or gid is None:
            raise InvalidSpec(f"--chown={step.chown}: no such user or group in the image's /etc/passwd "
                              "or /etc/group", location=location_of(step),
                              hint="use numeric ids, e.g. 1000:1000")
        return uid, gid

    def _run_step(self, ps: PlannedStep, lowers: tuple[str, ...]) -> tuple[str, ...]:
        step: ir.Run = ps.step
        cfg = ps.config
        argv = tuple(step.command) if not step.shell_form else (*cfg.shell, " ".join(step.command))
        if not argv:
            raise InvalidSpec("RUN needs a command", location=location_of(step))
        env = {**cfg.args, **cfg.env()}
        job = RunJob(argv=argv, layers=lowers, env=env, cwd=cfg.workdir, user=cfg.user,
                     network="none" if step.network == "none" else "host",
                     cache_dirs=tuple(self._cache_dir(m) for m in step.cache_mounts),
                     description=describe(step), image=self.image)
        tail: list[str] = []

        def output(line: str) -> None:
            tail.append(line)
            del tail[:-20]
            self.b.sink(StepOutput(message=line, image=self.image, line=line))

        from stackfile.build.executor import BuildFailed

        try:
            changes = self.b.executor.run(job, output)
        except BuildFailed as exc:
            raise exc.with_location(location_of(step)) from None
        return self._commit(changes, describe(step))

    def _cache_dir(self, mount: ir.CacheMount) -> CacheDir:
        ident = hashlib.sha256((mount.id or mount.target).encode()).hexdigest()[:32]
        host = self.b.paths.cache / "mounts" / ident
        if not host.is_dir():
            host.mkdir(parents=True, exist_ok=True, mode=0o755)
            if mount.mode is not None:
                os.chmod(host, mount.mode)
            if mount.uid is not None or mount.gid is not None:
                os.chown(host, mount.uid or 0, mount.gid or 0)
        return CacheDir(str(host), mount.target)


def _primary_gid(view: LayeredView, user: str) -> int | None:
    text = view.read_text("/etc/passwd") or ""
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) > 3 and fields[0] == user and fields[3].isdigit():
            return int(fields[3])
    return None


def _mode(step: ir.Copy) -> int | None:
    if not step.chmod:
        return None
    try:
        return int(step.chmod, 8)
    except ValueError:
        raise InvalidSpec(f"--chmod={step.chmod} is not an octal mode", location=location_of(step),
                          hint="e.g. --chmod=755") from None


def _loc(source: ir.Source) -> Location:
    return Location(file=source.file, line=source.line)


def build_many(paths: StorePaths, recipes: Mapping[str, ir.Recipe], *, no_cache: bool = False,
               sink: EventSink = discard, parallel: bool = True,
               executor: Executor | None = None) -> dict[str, ImageRecord]:
    """Build named recipes; a recipe whose FROM/COPY --from names another one is built after it."""
    from stackfile.graph import Graph

    graph: Graph[str] = Graph()
    for name, recipe in recipes.items():
        graph.add_node(name)
        for dep in _recipe_refs(recipe):
            if dep in recipes and dep != name:
                graph.add_edge(name, dep)
    graph.check_acyclic("image")
    paths.ensure()
    BuildCache(paths).db  # noqa: B018 - open the database (WAL switch, schemas) before any thread does
    out: dict[str, ImageRecord] = {}
    for level in graph.levels():
        def one(name: str) -> tuple[str, ImageRecord]:
            builder = Builder(paths, sink=sink, no_cache=no_cache, executor=executor)
            return name, builder.build(recipes[name], (name,), name=name)

        if parallel and len(level) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(4, len(level))) as pool:
                out.update(pool.map(one, level))
        else:
            out.update(one(n) for n in level)
    return out


def _recipe_refs(recipe: ir.Recipe) -> set[str]:
    stage_names = {s.name for s in recipe.stages if s.name}
    refs = {s.base.ref for s in recipe.stages}
    refs |= {st.from_ for s in recipe.stages for st in s.steps if isinstance(st, ir.Copy) and st.from_}
    return {r for r in refs if r not in stage_names}
