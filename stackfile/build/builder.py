"""The builder: plan every key, look each layer step up in the cache, run only the misses.

Emits typed events (stackfile.build.events); RUN goes to an :class:`~stackfile.build.executor.Executor`
(a runtime container by default), COPY/ADD write a layer directly, metadata steps touch the config.
The whole build holds the store lock shared, so garbage collection cannot remove a layer in use.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from stackfile.build.cachedb import BuildCache
from stackfile.build.context import BuildContext, ignore_rules
from stackfile.build.events import ImageBuilt
from stackfile.build.executor import Executor
from stackfile.build.plan import Planner
from stackfile.build.stages import StageResult, StageRunner
from stackfile.build.statcache import StatCache
from stackfile.errors import Location, NotFound
from stackfile.events import EventSink, discard
from stackfile.spec import recipe as ir
from stackfile.store import lock
from stackfile.store.images import ImageRecord, ImageStore
from stackfile.store.layers import LayerStore
from stackfile.store.paths import StorePaths

__all__ = ["BuildTrace", "Builder", "build_many"]


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
        self.last: BuildTrace | None = None  # how the last build went (for the fast path's record)

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
            runner = StageRunner(self, name or (tags[0] if tags else ""), context)
            result = runner.run(target)
            config = result.config.oci()
            labels = dict(recipe.labels)
            if labels:
                config["Labels"] = dict(sorted({**config.get("Labels", {}), **labels}.items()))
            image = self.images.put(result.layers, config, created=result.created,
                                    history=result.history, names=tags)
            self.last = BuildTrace(planner, target.index, result, runner.entries)
        from stackfile.store import journal

        journal.record(self.paths.root_str, "image", "build", image.id, {"name": name or ",".join(tags)})
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
        rules = ignore_rules(str(root), tuple(recipe.ignore_patterns))
        statcache = StatCache.for_context(self.paths, root.resolve())
        return BuildContext(root, rules, statcache), statcache


class BuildTrace:
    """A finished build: its planner (every planned stage), target stage, result and the cache
    entries (key → layers, created) its layer steps used."""

    __slots__ = ("entries", "planner", "result", "target")

    def __init__(self, planner: Planner, target: int, result: StageResult,
                 entries: dict[str, tuple[tuple[str, ...], str]]) -> None:
        self.planner, self.target, self.result, self.entries = planner, target, result, entries

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
