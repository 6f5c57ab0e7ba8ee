"""Image use cases: make sure an image exists, build recipes, and the store operations behind the CLI."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackfile.errors import Conflict, InvalidSpec, NotFound
from stackfile.events import EventSink, discard
from stackfile.store.images import ImageRecord, ImageStore
from stackfile.store.paths import StorePaths

if TYPE_CHECKING:
    from stackfile.spec.recipe import Recipe

__all__ = [
    "build_dockerfile", "build_images", "build_project", "build_recipe", "ensure_image", "image_history",
    "image_size",
    "import_rootfs", "inspect_image", "list_images", "load_images", "prune_images",
    "remove_images", "remove_stale_build_containers",
    "save_images", "system_df", "system_prune", "tag_image",
]


def ensure_image(paths: StorePaths, ref: str, sink: EventSink = discard,
                 environ: Mapping[str, str] | None = None) -> ImageRecord:
    """The image ``ref`` names; base sources are materialised on first use, registry references
    are pulled (with the registry settings of ``environ`` when given)."""
    from stackfile.build.bases import resolve_image

    if environ is not None:
        from stackfile.engine.registry import configure

        configure(environ)
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


# -- store operations behind ``image`` and ``system`` ------------------------------------------------

def build_dockerfile(paths: StorePaths, context: str, *, dockerfile: str | None = None,
                     tags: tuple[str, ...] = (), target: str | None = None,
                     build_args: Mapping[str, str] | None = None, no_cache: bool = False,
                     sink: EventSink = discard) -> ImageRecord:
    """``image build``: parse the Dockerfile (default ``<context>/Dockerfile``) and build it.

    Unless ``no_cache``, a request built before is first checked against its remembered plan
    (:mod:`stackfile.build.fastpath`): when every step would be a cache hit and the tags already
    name the image, the events are those of an all-hit build and nothing is parsed or written.
    """
    import time

    from stackfile.build import fastpath

    start = time.perf_counter()
    args = dict(build_args or {})
    key = fastpath.request_key(os.getcwd(), context, dockerfile, args, target)
    if not no_cache:
        try:
            hit = fastpath.check(str(paths.root), key, tuple(tags))
        except Exception:
            hit = None
        if hit is not None:
            name = tags[0] if tags else os.path.basename(hit.dockerfile)
            return _fast_result(paths, hit, tags, name, start, sink)
    root = Path(context).absolute()
    if not root.is_dir():
        raise NotFound(f"build context {context} is not a directory")
    if dockerfile == "-":
        raise InvalidSpec("reading the Dockerfile from standard input is not supported", hint="use -f FILE")
    path = Path(dockerfile).absolute() if dockerfile else root / "Dockerfile"
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise NotFound(f"cannot read Dockerfile {path}: {exc.strerror}",
                       hint="pass -f PATH, or put a Dockerfile in the context") from None
    return _full_build(paths, root, path, text, tags, target, args, no_cache, sink, key)


def _fast_result(paths: StorePaths, hit: Any, tags: tuple[str, ...], name: str, start: float,
                 sink: EventSink) -> ImageRecord:
    import time

    image = ImageStore(paths).get(hit.image_id)
    if sink is not discard:
        from stackfile.build.events import ImageBuilt, StepCached

        for stage, index, total, text in hit.steps:
            sink(StepCached(message=f"CACHED {text}", image=name, stage=stage, index=index, total=total,
                            step=text))
        sink(ImageBuilt(message=f"built {image.short_id}", image=name, image_id=image.id, tags=tuple(tags),
                        seconds=time.perf_counter() - start, cached_steps=len(hit.steps)))
    return image


def _full_build(paths: StorePaths, root: Path, path: Path, text: bytes, tags: tuple[str, ...],
                target: str | None, args: dict[str, str], no_cache: bool, sink: EventSink,
                key: str) -> ImageRecord:
    from dataclasses import replace

    from stackfile.build import fastpath
    from stackfile.build.builder import Builder
    from stackfile.build.context import dockerfile_patterns
    from stackfile.spec.dockerfile import parse_dockerfile

    recipe = parse_dockerfile(text.decode("utf-8", "surrogateescape"), path=str(path), build_args=args,
                              target=target, context=str(root))
    recipe = replace(recipe, ignore_patterns=dockerfile_patterns(str(root), str(path)))
    builder = Builder(paths, sink=sink, no_cache=no_cache)
    image = builder.build(recipe, tags, name=tags[0] if tags else path.name)
    fastpath.record(paths, key, str(path), str(root), text, builder, image)
    return image


def image_size(paths: StorePaths, image: ImageRecord, sizes: Mapping[str, int] | None = None) -> int:
    """Bytes of the image's layers (as recorded when each layer was made)."""
    from stackfile.store.layers import LayerStore

    table = sizes if sizes is not None else LayerStore(paths).sizes()
    return sum(table.get(lid, 0) for lid in image.layers)


def list_images(paths: StorePaths) -> list[tuple[ImageRecord, int]]:
    """Every image with its size, newest first."""
    from stackfile.store.layers import LayerStore

    if not paths.db.exists():
        return []
    sizes = LayerStore(paths).sizes()
    return [(img, image_size(paths, img, sizes)) for img in ImageStore(paths).all()]


def inspect_image(paths: StorePaths, ref: str) -> dict[str, Any]:
    """Docker-shaped inspect document of one image."""
    img = ImageStore(paths).get(ref)
    return {
        "Id": img.id, "RepoTags": list(img.names), "Created": img.created,
        "Architecture": img.architecture, "Os": img.os, "Config": img.config,
        "Size": image_size(paths, img),
        "RootFS": {"Type": "layers", "Layers": [f"sha256:{lid}" for lid in img.layers]},
        "GraphDriver": {"Name": "overlay", "Data": {"LowerDirs": list(img.lower_dirs(paths))}},
    }


def image_history(paths: StorePaths, ref: str) -> list[dict[str, Any]]:
    """The image's history, newest first, with the size of each step's layer."""
    from stackfile.store.layers import LayerStore

    img = ImageStore(paths).get(ref)
    sizes = LayerStore(paths).sizes()
    layers = list(img.layers)
    rows: list[dict[str, Any]] = []
    for entry in img.history:
        empty = bool(entry.get("empty_layer"))
        lid = None if empty or not layers else layers.pop(0)
        rows.append({"created": entry.get("created", ""), "created_by": entry.get("created_by", ""),
                     "size": sizes.get(lid, 0) if lid else 0, "layer": lid or ""})
    return list(reversed(rows))


def tag_image(paths: StorePaths, ref: str, name: str) -> ImageRecord:
    return ImageStore(paths).tag(ref, name)


def remove_images(paths: StorePaths, refs: list[str], *, force: bool = False) -> list[str]:
    """``image rm``: untag or delete each image; refuses images containers use unless ``force``."""
    store = ImageStore(paths)
    done: list[str] = []
    for ref in refs:
        img = store.get(ref)
        users = _containers_using(paths, img)
        if users and not force and len(img.names) <= 1:
            raise Conflict(f"image {ref!r} is used by container(s) {', '.join(users)}",
                           hint="remove the containers first, or pass --force")
        done += store.remove(ref, force=force)
    return done


def _containers_using(paths: StorePaths, image: ImageRecord) -> list[str]:
    import json

    from stackfile.store.gc import container_layers

    top = image.layers[-1] if image.layers else None
    if top is None or top not in container_layers(paths):
        return []
    out = []
    for entry in sorted(os.listdir(paths.containers)) if paths.containers.is_dir() else ():
        try:
            doc = json.loads((paths.containers / entry / "config.json").read_text())
        except (OSError, ValueError):
            continue
        layers = (doc.get("spec") or {}).get("layers") or []
        if layers and os.path.basename(str(layers[0])) == top:
            out.append(str(doc.get("name") or entry[:12]))
    return out


def prune_images(paths: StorePaths, *, all_images: bool = False, build_cache: bool = False) -> dict[str, Any]:
    """Remove dangling (unnamed) images — or with ``all_images`` every image no container uses —
    then garbage-collect layers and blobs; ``build_cache`` also forgets the build cache."""
    from stackfile.build.cachedb import BuildCache
    from stackfile.store.gc import collect

    if not paths.db.exists():
        return {"images": [], "layers": 0, "blobs": 0, "bytes": 0, "cache_entries": 0, "build_containers": 0}
    stale = remove_stale_build_containers(paths)
    store = ImageStore(paths)
    removed = []
    for img in store.all():
        if (not img.names or all_images) and not _containers_using(paths, img):
            store.remove(img.id, force=True)
            removed.append(img.id)
    cache = BuildCache(paths)
    entries = cache.clear() if build_cache else 0
    report = collect(paths, keep=cache.referenced_layers())
    return {"images": removed, "layers": len(report.layers), "blobs": len(report.blobs),
            "bytes": report.bytes_freed, "cache_entries": entries, "build_containers": stale}


def remove_stale_build_containers(paths: StorePaths, min_age: float = 300.0) -> int:
    """Remove RUN containers a killed build left behind (label ``stackfile.build``, not running,
    made more than ``min_age`` seconds ago so a concurrent build's fresh ones are left alone)."""
    from datetime import datetime

    from stackfile.runtime import get_runtime
    from stackfile.runtime.api import ContainerState

    runtime = get_runtime(paths)
    now = datetime.now().astimezone()
    count = 0
    for st in runtime.list(all=True, labels={"stackfile.build": "1"}):
        try:
            age = (now - datetime.fromisoformat(st.created_at.replace("Z", "+00:00"))).total_seconds()
        except ValueError:
            continue
        if st.state not in (ContainerState.RUNNING, ContainerState.PAUSED) and age >= min_age:
            runtime.remove(st.id, force=True)
            count += 1
    return count


def system_prune(paths: StorePaths, *, all_images: bool = False) -> dict[str, Any]:
    """``system prune``: dangling (or all unused) images, the build cache, unreferenced layers."""
    return prune_images(paths, all_images=all_images, build_cache=True)


def system_df(paths: StorePaths) -> list[dict[str, Any]]:
    """Disk use by kind: images, containers, build cache (Docker's ``system df`` rows)."""
    from stackfile.build.cachedb import BuildCache
    from stackfile.store.gc import container_layers
    from stackfile.store.layers import LayerStore, dir_size

    if not paths.db.exists():
        return []
    sizes = LayerStore(paths).sizes()
    images = ImageStore(paths).all()
    image_layers = {lid for img in images for lid in img.layers}
    used = container_layers(paths)
    cache_layers = BuildCache(paths).referenced_layers() - image_layers
    containers = [d for d in os.listdir(paths.containers) if not d.startswith(".")] \
        if paths.containers.is_dir() else []
    writable = sum(dir_size(paths.containers / c / "upper") for c in containers)
    in_use = sum(1 for img in images if img.layers and img.layers[-1] in used)
    return [
        {"type": "Images", "total": len(images), "active": in_use,
         "size": sum(sizes.get(lid, 0) for lid in image_layers),
         "reclaimable": sum(sizes.get(lid, 0) for lid in image_layers - used)},
        {"type": "Containers", "total": len(containers), "active": len(containers),
         "size": writable, "reclaimable": 0},
        {"type": "Build Cache", "total": len(cache_layers), "active": 0,
         "size": sum(sizes.get(lid, 0) for lid in cache_layers),
         "reclaimable": sum(sizes.get(lid, 0) for lid in cache_layers)},
    ]


def save_images(paths: StorePaths, refs: list[str], output: str, fmt: str = "docker-archive") -> None:
    """``image save``: write the images as one archive (atomically replaces ``output``)."""
    from stackfile.store.export import save_images as write

    if fmt not in ("docker-archive", "oci-archive"):
        raise InvalidSpec(f"unknown archive format {fmt!r}", hint="docker-archive or oci-archive")
    store = ImageStore(paths)
    images = [store.get(ref) for ref in refs]
    tmp = f"{output}.{os.getpid()}.part"
    try:
        with open(tmp, "wb") as fh:
            write(paths, images, fh, fmt)
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_images(paths: StorePaths, archive: str) -> list[ImageRecord]:
    """``image load``: every image of a Docker or OCI archive (or OCI layout directory)."""
    from stackfile.store.transfer import load_archive

    path = Path(archive)
    if not path.exists():
        raise NotFound(f"archive {archive} does not exist")
    return load_archive(paths, path)


def import_rootfs(paths: StorePaths, archive: str, name: str | None = None) -> ImageRecord:
    """``image import``: one image from a root file system tarball (one layer)."""
    from stackfile.store.transfer import import_rootfs as do_import

    return do_import(paths, Path(archive), name)


def build_project(opts: Any, services: list[str] | None = None, *, no_cache: bool = False,
                  build_args: Mapping[str, str] | None = None,
                  sink: EventSink = discard) -> dict[str, ImageRecord]:
    """``stackfile build``: the project's buildable images (``images:`` recipes and ``build:``
    sections, tagged ``<project>-<service>`` unless the service names an image), in parallel."""
    from stackfile.engine.project_build import recipe_for
    from stackfile.engine.project_context import open_project
    from stackfile.reconcile.desired import desired_services

    ctx = open_project(opts, sink=sink)
    desired = desired_services(ctx.stack)
    unknown = sorted(set(services or ()) - set(desired))
    if unknown:
        raise NotFound(f"no such service: {', '.join(unknown)}",
                       hint=f"services are: {', '.join(sorted(desired))}")
    recipes: dict[str, Recipe] = {}
    stack = ctx.require_stack()
    for name in sorted(services or desired):
        svc = desired[name]
        if svc.buildable and svc.image not in recipes:
            model = stack.services[name]
            if build_args and model.build is not None:
                recipe = _with_build_args(model, build_args, ctx.working_dir)
            else:
                recipe = recipe_for(ctx, svc.image, desired)
            recipes[svc.image] = recipe
    for ref in sorted(getattr(stack, "images", {}) or {}):
        if not services and ref not in recipes:
            recipes[ref] = recipe_for(ctx, ref, desired)
    return build_images(ctx.paths, recipes, no_cache=no_cache, sink=sink)


def _with_build_args(service: Any, build_args: Mapping[str, str], working_dir: str) -> Recipe:
    """The service's Dockerfile recipe re-parsed with ``--build-arg`` values over ``build.args``
    (they substitute into ENV, COPY, FROM... at parse time, not only into RUN's environment)."""
    from stackfile.engine.project_build import _dockerfile_recipe

    build = service.build
    merged = {**{k: v for k, v in build.args.items() if v is not None}, **build_args}
    updated = service.model_copy(update={"build": build.model_copy(update={"args": merged})})
    recipe: Recipe = _dockerfile_recipe(updated, working_dir)
    return recipe
