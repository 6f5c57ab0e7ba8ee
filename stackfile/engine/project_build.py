"""Build the images a project's services need: ``images:`` recipes and ``build:`` sections."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackfile.engine.project_context import ProjectContext
from stackfile.errors import InvalidSpec, Location
from stackfile.reconcile.desired import DesiredService

__all__ = ["build_refs", "build_service_image", "dockerfiles", "recipe_digest", "recipe_for"]


def recipe_for(ctx: ProjectContext, ref: str, desired: Mapping[str, DesiredService]) -> Any:
    """The recipe that makes image ``ref``: an ``images:`` entry or the ``build:`` of a service using it."""
    stack = ctx.require_stack()
    if ref in stack.images:
        from stackfile.spec.recipes import recipes_from_stack  # type: ignore[import-not-found,unused-ignore]

        raw = ctx.project.config.get("images", {}) if ctx.project is not None else {}
        return recipes_from_stack(raw, ctx.working_dir)[ref]
    for name in sorted(desired):
        svc = stack.services[name]
        if desired[name].image == ref and svc.build is not None:
            return _dockerfile_recipe(svc, ctx.working_dir)
    raise InvalidSpec(f"no recipe or build section makes image {ref!r}",
                      hint="add it under images: or give the service a build: section")


def _dockerfile_recipe(svc: Any, working_dir: str) -> Any:
    from stackfile.spec.dockerfile import parse_dockerfile  # type: ignore[import-not-found,unused-ignore]

    build = svc.build
    context = Path(build.context or working_dir)
    if not context.is_absolute():
        context = Path(working_dir) / context
    if not context.is_dir():
        raise InvalidSpec(f"service {svc.name!r}: build context {context} is not a directory",
                          location=Location(key_path=f"services.{svc.name}.build.context"),
                          hint="build.context is a directory, relative to the project directory")
    if build.dockerfile_inline:
        text, path = build.dockerfile_inline, str(context / "Dockerfile")
    else:
        dockerfile = Path(build.dockerfile or "Dockerfile")
        path = str(dockerfile if dockerfile.is_absolute() else context / dockerfile)
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise InvalidSpec(f"cannot read Dockerfile {path}: {exc.strerror}",
                              location=Location(key_path=f"services.{svc.name}.build.dockerfile")) from None
    args = {k: v for k, v in build.args.items() if v is not None}
    return parse_dockerfile(text, path=path, build_args=args, target=build.target, context=str(context))


def build_service_image(ctx: ProjectContext, ref: str, desired: Mapping[str, DesiredService],
                        *, no_cache: bool = False) -> None:
    """Build image ``ref`` (through the layer cache) and tag it ``ref``."""
    from stackfile.engine.images import build_images

    build_images(ctx.paths, {ref: recipe_for(ctx, ref, desired)}, no_cache=no_cache, sink=ctx.sink)



def _strip_sources(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_sources(v) for k, v in value.items() if k != "source"}
    if isinstance(value, list | tuple):
        return [_strip_sources(v) for v in value]
    return value


def recipe_digest(recipe: Any) -> str:
    """A digest of what a recipe says (step locations left out, so moving a comment is no change)."""
    import dataclasses

    from stackfile.digest import digest_json

    return digest_json(_strip_sources(dataclasses.asdict(recipe)))


def build_refs(ctx: ProjectContext, refs: list[str], desired: Mapping[str, DesiredService], *,
               force: bool = False) -> list[str]:
    """Build the images among ``refs`` that are missing or whose recipe changed since the last
    build (all of them with ``force``, i.e. ``--build``); returns the ones built.

    A changed build context alone does not rebuild (Compose's rule: use ``--build``); the layer
    cache makes a forced rebuild of unchanged steps cheap.
    """
    import json

    from stackfile.engine.images import build_images

    state = ctx.state_dir / "recipes.json"
    try:
        known: dict[str, str] = json.loads(state.read_text())
    except (OSError, ValueError):
        known = {}
    recipes, deps = _closure(ctx, refs, desired)
    digests = {ref: recipe_digest(r) for ref, r in recipes.items()}
    todo = {ref for ref in recipes if force or known.get(ref) != digests[ref]
            or ctx.images.resolve(ref) is None}
    changed = True
    while changed:  # a rebuilt base rebuilds what is made from it
        grown = {ref for ref in recipes if deps[ref] & todo} - todo
        todo |= grown
        changed = bool(grown)
    needed = set(todo)
    for ref in sorted(todo):
        needed |= deps[ref]
    if todo:
        build_images(ctx.paths, {ref: recipes[ref] for ref in sorted(needed)}, sink=ctx.sink)
        known.update({ref: digests[ref] for ref in needed})
        state.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        state.write_text(json.dumps(known, sort_keys=True))
    return sorted(todo)


def _closure(ctx: ProjectContext, refs: list[str],
             desired: Mapping[str, DesiredService]) -> tuple[dict[str, Any], dict[str, set[str]]]:
    """Recipes of ``refs`` plus the ``images:`` recipes they are built FROM, and each one's
    transitive dependencies among them."""
    images = set(ctx.require_stack().images)
    recipes: dict[str, Any] = {}
    direct: dict[str, set[str]] = {}
    todo = list(refs)
    while todo:
        ref = todo.pop()
        if ref in recipes:
            continue
        recipes[ref] = recipe_for(ctx, ref, desired)
        direct[ref] = {s.base.ref for s in recipes[ref].stages if s.base.ref in images and s.base.ref != ref}
        todo.extend(direct[ref])
    deps: dict[str, set[str]] = {}
    for ref in recipes:
        seen: set[str] = set()
        stack = list(direct[ref])
        while stack:
            d = stack.pop()
            if d not in seen:
                seen.add(d)
                stack.extend(direct.get(d, ()))
        deps[ref] = seen
    return recipes, deps


def dockerfiles(ctx: ProjectContext, refs: list[str], desired: Mapping[str, DesiredService]) -> list[str]:
    """Dockerfile paths behind ``refs`` (so the no-op fast path notices when one changes)."""
    out = []
    config = ctx.config or {}
    for name, svc in sorted((config.get("services") or {}).items()):
        build = svc.get("build")
        if isinstance(build, dict) and desired[name].image in refs and not build.get("dockerfile_inline"):
            context = Path(build.get("context") or ctx.working_dir)
            dockerfile = Path(build.get("dockerfile") or "Dockerfile")
            out.append(str(dockerfile if dockerfile.is_absolute() else context / dockerfile))
    return out
