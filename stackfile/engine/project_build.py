"""Build the images a project's services need: ``images:`` recipes and ``build:`` sections."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackfile.engine.project_context import ProjectContext
from stackfile.errors import InvalidSpec, Location
from stackfile.reconcile.desired import DesiredService

__all__ = ["build_service_image", "recipe_for"]


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
