"""Running a planned stage: each layer step is a cache hit or runs (RUN in a container, COPY and
WORKDIR straight into a new layer directory); metadata steps only add history."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackfile.build.config import ImageConfig
from stackfile.build.context import BuildContext
from stackfile.build.copy import CopyPlan, SourceItem, copy_into, ensure_dirs, view_walk
from stackfile.build.describe import describe
from stackfile.build.events import StepCached, StepDone, StepOutput, StepStarted
from stackfile.build.executor import CacheDir, RunJob
from stackfile.build.exhaustion import exhausted
from stackfile.build.plan import PlannedStep, StagePlan, location_of
from stackfile.build.rootfs import LayeredView, lookup_id
from stackfile.build.statcache import sha256
from stackfile.errors import InvalidSpec, NotFound
from stackfile.spec import recipe as ir

if TYPE_CHECKING:
    from stackfile.build.builder import Builder

__all__ = ["StageResult", "StageRunner"]


class StageResult:
    """A built stage: its layers (bottom first), config, creation time and history."""

    __slots__ = ("config", "created", "history", "layers")

    def __init__(self, layers: tuple[str, ...], config: ImageConfig, created: str,
                 history: list[dict[str, Any]]) -> None:
        self.layers, self.config, self.created, self.history = layers, config, created, history


class StageRunner:
    """Runs planned stages of one recipe (each stage at most once)."""

    def __init__(self, builder: Builder, image: str, context: BuildContext | None) -> None:
        self.b = builder
        self.image = image
        self.context = context
        self.done: dict[int, StageResult] = {}
        self.entries: dict[str, tuple[tuple[str, ...], str]] = {}  # layer step key → (layers, created)

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
            new, when = self._layer_step(ps, layers, info)
            if new:
                created = when
                layers = layers + new
            history.append({"created": when, "created_by": text, "empty_layer": not new})
        return StageResult(layers, plan.config, created, history)

    def _layer_step(self, ps: PlannedStep, layers: tuple[str, ...],
                    info: dict[str, Any]) -> tuple[tuple[str, ...], str]:
        """The step's layers and their creation time: from the cache, or by running it now."""
        text = info["step"]
        hit = None if self.b.no_cache else self.b.cache.get(ps.key)
        if hit is not None:
            self.b.cached += 1
            self.b.sink(StepCached(message=f"CACHED {text}", **info))
            self.entries[ps.key] = hit
            return hit
        self.b.ran += 1
        self.b.sink(StepStarted(message=text, **info))
        t0 = time.perf_counter()
        try:
            entry = self.b.cache.put(ps.key, self._execute(ps, layers))
        except (OSError, sqlite3.OperationalError) as exc:
            clear = exhausted(exc, text, self.b.paths.root_str, location_of(ps.step))
            if clear is None:
                raise
            raise clear from None
        self.b.sink(StepDone(message=text, seconds=time.perf_counter() - t0, **info))
        self.entries[ps.key] = entry
        return entry

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
            return [SourceItem(os.path.basename(src), os.path.isdir(src) and not os.path.islink(src),
                               ctx.walk(src), src) for src in ps.sources]
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
        ident = sha256((mount.id or mount.target).encode()).hexdigest()[:32]
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
