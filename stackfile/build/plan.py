"""Planning: every cache key of a build, computed before anything runs.

A stage starts from its base (an image's id, or an earlier stage's final key); each step's key is
``step_key(parent key, resolved step, input digests)``. Metadata steps only change the config as
planned here; RUN, COPY/ADD and WORKDIR are "layer steps" whose results the cache records.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from stackfile.build.config import ImageConfig, apply_metadata, is_metadata
from stackfile.build.context import BuildContext
from stackfile.build.keys import base_key, step_doc, step_key
from stackfile.errors import InvalidSpec, Location
from stackfile.spec import recipe as ir
from stackfile.store.images import ImageRecord

__all__ = ["PlannedStep", "Planner", "StagePlan", "location_of"]


def location_of(step: object) -> Location:
    src = getattr(step, "source", None)
    return Location(file=getattr(src, "file", None), line=getattr(src, "line", None))


class PlannedStep:
    """One step with its key and the config in force when it runs (for RUN: env, user, shell)."""

    __slots__ = ("config", "doc", "from_image", "from_stage", "inputs", "key", "sources", "step")

    def __init__(self, step: Any, key: str, config: ImageConfig, doc: dict[str, Any] | None = None,
                 inputs: dict[str, Any] | None = None) -> None:
        self.step = step
        self.key = key
        self.config = config
        self.doc = doc or {}  # what the key was made of: step_key(parent, doc, inputs)
        self.inputs = inputs or {}
        self.sources: list[str] = []  # COPY from the context
        self.from_stage: StagePlan | None = None  # COPY --from=<stage>
        self.from_image: ImageRecord | None = None  # COPY --from=<image>

    @property
    def is_layer_step(self) -> bool:
        return not is_metadata(self.step) or isinstance(self.step, ir.Workdir)


class StagePlan:
    """A planned stage: its base (an image or an earlier stage), steps, final key and config."""

    __slots__ = ("base_image", "base_ref", "base_stage", "config", "index", "key", "name", "steps")

    def __init__(self, index: int, name: str, base_image: ImageRecord | None, base_stage: StagePlan | None,
                 steps: list[PlannedStep], key: str, config: ImageConfig, base_ref: str = "") -> None:
        self.index, self.name, self.base_image, self.base_stage = index, name, base_image, base_stage
        self.steps, self.key, self.config, self.base_ref = steps, key, config, base_ref


ImageResolver = Callable[[str, Location], ImageRecord]


class Planner:
    """Plans the stages of one recipe (each stage once), with its context and resolvers."""

    def __init__(self, recipe: ir.Recipe, context: BuildContext | None, resolve_image: ImageResolver,
                 build_args: Mapping[str, str]) -> None:
        self.recipe = recipe
        self.context = context
        self.resolve_image = resolve_image
        self.build_args = dict(build_args)
        self._plans: dict[int, StagePlan] = {}
        self._global = self._global_args()

    def _global_args(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for stage in self.recipe.stages[:1]:
            for arg in stage.global_args:
                value = self.build_args.get(arg.name, arg.default)
                out[arg.name] = value if value is not None else ""
        return out

    @property
    def stages(self) -> dict[int, StagePlan]:
        """The stages planned so far, by index (the target and the stages it needs)."""
        return self._plans

    def target(self) -> StagePlan:
        target = self.recipe.target
        if target is None:
            return self.stage(len(self.recipe.stages) - 1)
        index = self._stage_index(target)
        if index is None:
            names = ", ".join(s.name for s in self.recipe.stages if s.name) or "none"
            raise InvalidSpec(f"build target {target!r} is not a stage of this recipe",
                              location=_loc(self.recipe.source), hint=f"named stages: {names}")
        return self.stage(index)

    def _stage_index(self, ref: str, before: int | None = None) -> int | None:
        limit = len(self.recipe.stages) if before is None else before
        for i, stage in enumerate(self.recipe.stages[:limit]):
            if stage.name is not None and stage.name.lower() == ref.lower():
                return i
        if ref.isdigit() and int(ref) < limit:
            return int(ref)
        return None

    def stage(self, index: int) -> StagePlan:
        if index not in self._plans:
            self._plans[index] = self._plan_stage(index)
        return self._plans[index]

    def _plan_stage(self, index: int) -> StagePlan:
        stage = self.recipe.stages[index]
        ref = stage.base.ref
        where = location_of(stage.base)
        base_index = self._stage_index(ref, before=index)
        base_stage = self.stage(base_index) if base_index is not None else None
        base_image = None if base_stage else self.resolve_image(ref, where)
        if base_stage is not None:
            key, cfg = base_stage.key, ImageConfig.from_oci(base_stage.config.oci())
        else:
            assert base_image is not None
            key, cfg = base_key(base_image.id), ImageConfig.from_oci(base_image.config)
        cfg.args = {}
        steps: list[PlannedStep] = []
        for step in stage.steps:
            planned = self._plan_step(index, step, key, cfg)
            steps.append(planned)
            key = planned.key
        return StagePlan(index, stage.name or str(index), base_image, base_stage, steps, key, cfg, ref)

    def _plan_step(self, stage_index: int, step: Any, parent: str, cfg: ImageConfig) -> PlannedStep:
        if isinstance(step, ir.Arg) and step.default is None and step.name not in self.build_args:
            step = replace(step, default=self._global.get(step.name))
        if is_metadata(step):
            apply_metadata(cfg, step, self.build_args)
            doc = step_doc(step)
            if isinstance(step, ir.Workdir):
                doc["path"] = cfg.workdir
            inputs: dict[str, Any] = {"config": cfg.oci()}
            return PlannedStep(step, step_key(parent, doc, inputs), _snapshot(cfg), doc, inputs)
        if isinstance(step, ir.Run):
            doc = step_doc(step)
            inputs = {"args": dict(sorted(cfg.args.items())), "shell": list(cfg.shell)}
            return PlannedStep(step, step_key(parent, doc, inputs), _snapshot(cfg), doc, inputs)
        if isinstance(step, ir.Copy):
            return self._plan_copy(stage_index, step, parent, cfg)
        raise InvalidSpec(f"unsupported recipe step {type(step).__name__}", location=location_of(step))

    def _plan_copy(self, stage_index: int, step: ir.Copy, parent: str, cfg: ImageConfig) -> PlannedStep:
        resolved = replace(step, dest=_dest(step.dest, cfg.workdir))
        doc = step_doc(resolved)
        where = location_of(step)
        planned = PlannedStep(resolved, "", _snapshot(cfg))
        if resolved.from_:
            idx = self._stage_index(resolved.from_, before=stage_index)
            if idx is not None:
                planned.from_stage = self.stage(idx)
                inputs: dict[str, Any] = {"stage": planned.from_stage.key}
            else:
                planned.from_image = self.resolve_image(resolved.from_, where)
                inputs = {"image": planned.from_image.id}
        else:
            if self.context is None:
                raise InvalidSpec(f"{'ADD' if step.add else 'COPY'} needs a build context", location=where,
                                  hint="give the recipe a context directory")
            for src in resolved.sources:
                if "://" in src:
                    raise InvalidSpec(f"ADD from a URL ({src}) is not supported: there is no network "
                                      "access during builds", location=where,
                                      hint="download the file into the context and COPY it")
                planned.sources.extend(self.context.resolve_sources(src, where))
            inputs = {"context": self.context.digest(planned.sources, resolved.exclude)}
        planned.key = step_key(parent, doc, inputs)
        planned.doc, planned.inputs = doc, inputs
        return planned


def _dest(dest: str, workdir: str) -> str:
    trailing = dest.endswith("/") or dest in (".", "./")
    path = posixpath.normpath(posixpath.join(workdir, dest))
    return path.rstrip("/") + "/" if trailing else path


def _snapshot(cfg: ImageConfig) -> ImageConfig:
    return ImageConfig(doc=dict(cfg.doc), args=dict(cfg.args), cmd_set=cfg.cmd_set)


def _loc(source: ir.Source) -> Location:
    return Location(file=source.file, line=source.line)
