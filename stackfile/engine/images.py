"""Image use cases: make sure an image exists, build recipes, and the store operations behind the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stackfile.events import EventSink, discard
from stackfile.store.images import ImageRecord
from stackfile.store.paths import StorePaths

if TYPE_CHECKING:
    from stackfile.spec.recipe import Recipe

__all__ = ["build_images", "build_recipe", "ensure_image"]


def ensure_image(paths: StorePaths, ref: str, sink: EventSink = discard) -> ImageRecord:
    """The image ``ref`` names; base sources are materialised on first use, as a pull would.

    Registry references that are not in the store raise :class:`Unavailable`.
    """
    from stackfile.build.bases import resolve_image

    paths.ensure()
    return resolve_image(paths, ref)


def build_recipe(paths: StorePaths, recipe: Recipe, tags: tuple[str, ...] | list[str] = (), *,
                 no_cache: bool = False, sink: EventSink = discard, name: str = "") -> ImageRecord:
    """Build one recipe and tag the image with ``tags``."""
    from stackfile.build.builder import Builder

    return Builder(paths, sink=sink, no_cache=no_cache).build(recipe, tuple(tags), name=name)


def build_images(paths: StorePaths, recipes: dict[str, Recipe], *, no_cache: bool = False,
                 sink: EventSink = discard, parallel: bool = True) -> dict[str, ImageRecord]:
    """Build named recipes (independent ones in parallel); each image is tagged with its name."""
    from stackfile.build.builder import build_many

    return build_many(paths, recipes, no_cache=no_cache, sink=sink, parallel=parallel)
