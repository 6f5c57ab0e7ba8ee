"""``container commit``: a new image whose top layer is a container's changes (its overlay upper dir).

The upper dir is read through a :class:`Root` (directory fds, ``O_NOFOLLOW``) into an OCI layer tar
(whiteouts as ``.wh.`` entries, opaque directories as ``.wh..wh..opq``), leaving out the runtime's
stubs as ``diff`` does. The tar's sha256 is the layer's diff id and id, so committing the same
changes twice stores one layer; the store extracts it as it extracts every imported layer (whiteouts
back to overlay whiteouts). The image's parent is the container's image: its layers, its config with
what the container ran (command, environment, working dir, user, labels), then ``--change``.
"""

from __future__ import annotations

import json
import os
import shlex
from typing import Any

from stackfile.errors import InvalidSpec, Location, NotFound
from stackfile.runtime.api import ContainerSpec, ContainerState
from stackfile.store.paths import StorePaths

__all__ = ["apply_changes", "commit", "service_container"]


def service_container(opts: Any, service: str, index: int = 1) -> str:
    """The id of container ``index`` of ``service`` (a running one first) in the project ``opts`` names."""
    from stackfile.engine.project_context import open_project
    from stackfile.engine.project_ops import select
    from stackfile.reconcile import labels as L

    ctx = open_project(opts, require_file=False)
    found = [s for s in select(ctx, [service], all=True) if s.labels.get(L.NUMBER) == str(index)]
    found.sort(key=lambda s: s.state.value not in ("running", "paused", "restarting"))
    if not found:
        raise NotFound(f"service {service!r} has no container #{index}",
                       hint=f"create it with 'stackfile up -d {service}'")
    return str(found[0].id)


def commit(paths: StorePaths, ref: str, repository: str | None = None, *, author: str = "",
           message: str = "", changes: tuple[str, ...] = (), pause: bool = True) -> dict[str, Any]:
    """Commit container ``ref``'s changes as a new image (tagged ``repository`` when given).
    Returns ``{"Id": "sha256:...", "Layer": "<layer id>", "Names": [...]}``."""
    from stackfile.runtime import get_runtime
    from stackfile.store import lock
    from stackfile.store.images import ImageStore
    from stackfile.store.layers import now_rfc3339

    rt = get_runtime(paths)
    status = rt.inspect(ref)
    spec = rt.spec_of(status.id)
    layer_ids = _layer_ids(paths, spec)
    config = apply_changes(container_config(_base_config(paths, status.image, layer_ids), spec), changes)
    with lock.shared(paths):
        paused = pause and status.state is ContainerState.RUNNING
        if paused:
            rt.pause(status.id)
        try:
            tar_path, digest = _upper_tar(paths, rt.upper_dir(status.id), spec)
        finally:
            if paused:
                rt.unpause(status.id)
        try:
            layer = _store_layer(paths, tar_path, digest)
        finally:
            os.unlink(tar_path)
        base = ImageStore(paths).resolve(status.image) if status.image else None
        history = [*(base.history if base is not None and base.layers == layer_ids else ()),
                   {"created": now_rfc3339(), "created_by": shlex.join(spec.process.argv),
                    **({"author": author} if author else {}), **({"comment": message} if message else {})}]
        image = ImageStore(paths).put((*layer_ids, layer), config, history=history,
                                      names=[repository] if repository else [])
    return {"Id": image.id, "Layer": layer, "Names": list(image.names)}


def _layer_ids(paths: StorePaths, spec: ContainerSpec) -> tuple[str, ...]:
    """The container's image layers as store layer ids, bottom first."""
    out = []
    for directory in reversed(spec.layers):
        lid = os.path.basename(directory.rstrip("/"))
        if os.path.realpath(directory) != os.path.realpath(paths.layer(lid)):
            raise InvalidSpec(f"the container's layer {directory} is not in the store {paths.root}",
                              hint="only containers of stored images can be committed")
        out.append(lid)
    return tuple(out)


def _base_config(paths: StorePaths, image_ref: str, layer_ids: tuple[str, ...]) -> dict[str, Any]:
    """The container's image's config, when the store still has that image (same layers)."""
    from stackfile.store.images import ImageStore

    record = ImageStore(paths).resolve(image_ref) if image_ref else None
    return dict(record.config) if record is not None and record.layers == layer_ids else {}


def container_config(base: dict[str, Any], spec: ContainerSpec) -> dict[str, Any]:
    """The image config of what the container ran: ``base`` with its command, env, cwd, user, labels."""
    argv = list(spec.process.argv)
    entry = list(base.get("Entrypoint") or [])
    if entry and argv[:len(entry)] == entry:
        cmd = argv[len(entry):]
    else:
        entry, cmd = [], argv
    config = {**base, "Env": [f"{k}={v}" for k, v in spec.process.env.items()], "Cmd": cmd,
              "Entrypoint": entry or None, "WorkingDir": "" if spec.process.cwd == "/" else spec.process.cwd,
              "User": spec.process.user, "Labels": dict(spec.labels) or None}
    if spec.stop_signal and spec.stop_signal != "SIGTERM":
        config["StopSignal"] = spec.stop_signal
    return {k: v for k, v in config.items() if v not in (None, "", [])}


def _words(value: str) -> list[str]:
    if value.lstrip().startswith("["):
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        if isinstance(data, list) and all(isinstance(x, str) for x in data):
            return data
    return []


def _pairs(value: str, key: str) -> dict[str, str]:
    words = shlex.split(value)
    if len(words) >= 2 and "=" not in words[0]:  # ENV KEY value with spaces
        return {words[0]: value.split(None, 1)[1]}
    out = {}
    for w in words:
        k, sep, v = w.partition("=")
        if not k or not sep:
            raise InvalidSpec(f"{key} needs KEY=VALUE, got {w!r}", location=Location(key_path="--change"))
        out[k] = v
    return out


def apply_changes(config: dict[str, Any], changes: tuple[str, ...]) -> dict[str, Any]:
    """``--change`` Dockerfile instructions applied to an image config (a new dict)."""
    out = dict(config)
    for change in changes:
        word, _, rest = change.strip().partition(" ")
        key, rest = word.upper(), rest.strip()
        if not rest:
            raise InvalidSpec(f"--change {change!r} has no value", location=Location(key_path="--change"))
        if key in ("CMD", "ENTRYPOINT"):
            out["Cmd" if key == "CMD" else "Entrypoint"] = _words(rest) or ["/bin/sh", "-c", rest]
        elif key == "ENV":
            env = dict(e.partition("=")[::2] for e in out.get("Env") or [])
            env.update(_pairs(rest, key))
            out["Env"] = [f"{k}={v}" for k, v in env.items()]
        elif key == "LABEL":
            out["Labels"] = {**(out.get("Labels") or {}), **_pairs(rest, key)}
        elif key == "EXPOSE":
            ports: dict[str, dict[str, str]] = {p if "/" in p else f"{p}/tcp": {} for p in rest.split()}
            out["ExposedPorts"] = {**(out.get("ExposedPorts") or {}), **ports}
        elif key == "VOLUME":
            out["Volumes"] = {**(out.get("Volumes") or {}), **{v: {} for v in _words(rest) or rest.split()}}
        elif key in ("USER", "WORKDIR", "STOPSIGNAL"):
            out[{"USER": "User", "WORKDIR": "WorkingDir", "STOPSIGNAL": "StopSignal"}[key]] = rest
        else:
            raise InvalidSpec(f"--change {word!r} is not supported", location=Location(key_path="--change"),
                              hint="CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR or STOPSIGNAL")
    return out


def _upper_tar(paths: StorePaths, upper: str, spec: ContainerSpec) -> tuple[str, str]:
    """The upper dir as an OCI layer tar in the store's tmp dir: (path, ``sha256:<hex>``)."""
    import hashlib
    import tempfile

    from stackfile.engine.container_changes import runtime_stubs
    from stackfile.runtime.linux.fsarchive import resolve_source, write_tree
    from stackfile.runtime.linux.rootpath import Root

    skip = runtime_stubs(tuple(spec.layers), tuple(m.target for m in spec.mounts))
    paths.tmp.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="commit-", suffix=".tar", dir=paths.tmp)
    digest = hashlib.sha256()

    class _Hashing:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def write(self, data: bytes) -> int:
            digest.update(data)
            return int(self.fh.write(data))

    try:
        with os.fdopen(fd, "wb") as fh, Root(upper) as root:
            src = resolve_source(root, "/", follow=True)
            try:
                write_tree(src, "", _Hashing(fh), whiteouts=True, skip=skip)  # type: ignore[arg-type]
            finally:
                src.close()
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp, f"sha256:{digest.hexdigest()}"


def _store_layer(paths: StorePaths, tar_path: str, digest: str) -> str:
    """The layer with diff id ``digest``, extracted from ``tar_path`` unless the store has it."""
    import shutil
    from pathlib import Path

    from stackfile.store.archive import extract_layer
    from stackfile.store.layers import LayerStore

    layers = LayerStore(paths)
    existing = layers.find_by_diff_id(digest)
    if existing:
        return existing
    dest = layers.scratch_dir("commit-")
    try:
        with open(tar_path, "rb") as fh:
            extract_layer(fh, Path(dest), archive="commit")
        return layers.commit(dest, layer_id=digest.split(":", 1)[1], diff_id=digest, origin="commit")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
