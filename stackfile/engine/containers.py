"""Container use cases behind ``stackfile container ...``: image config + flags → ContainerSpec → runtime.

Kept lean on purpose (``container run`` start-up time matters, see ``cli/container_fast.py``): no
pydantic, Jinja2, rich or pyroute2, no dataclasses; the image store is opened only to resolve the
image, events and the log reader load only when used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping

from stackfile.engine.container_options import RunOptions, RunResult
from stackfile.errors import InvalidSpec, Location
from stackfile.runtime.api import (
    TMPFS_OPTIONS_HINT,
    ContainerSpec,
    ExecSpec,
    Mount,
    NetworkAttachment,
    Process,
    Resources,
    RestartPolicy,
    split_tmpfs_options,
    to_plain,
)
from stackfile.runtime.linux.errors import StartFailed

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import (see stackfile/record.py)
if TYPE_CHECKING:
    from typing import Any

    from stackfile.events import EventSink
    from stackfile.runtime.api import LogLine, Runtime
    from stackfile.store.images import ImageRecord
    from stackfile.store.paths import StorePaths

__all__ = ["RunOptions", "RunResult", "StartFailed", "age_seconds", "build_spec", "exec_in", "parse_env",
           "parse_restart", "parse_since", "run", "runtime", "spec_dict"]


def runtime(paths: StorePaths) -> Runtime:
    """The host's runtime over ``paths``."""
    from stackfile.runtime import get_runtime

    return get_runtime(paths)


def parse_env(items: tuple[str, ...] | list[str], environ: Mapping[str, str],
              flag: str = "--env") -> dict[str, str]:
    """``K=V`` entries; a bare ``K`` takes the caller's value (and is skipped when unset)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise InvalidSpec(f"invalid environment entry {item!r}", location=Location(key_path=flag),
                              hint="use KEY=VALUE or KEY")
        if sep:
            out[key] = value
        elif key in environ:
            out[key] = environ[key]
    return out


def _env_file(path: str, environ: Mapping[str, str]) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as fh:
            lines = [ln.strip() for ln in fh.read().splitlines()]
    except OSError as exc:
        raise InvalidSpec(f"cannot read env file {path!r}: {exc.strerror}",
                          location=Location(file=path, key_path="--env-file")) from None
    return parse_env([ln for ln in lines if ln and not ln.startswith("#")], environ, "--env-file")


def parse_restart(value: str) -> RestartPolicy:
    """``no``, ``always``, ``unless-stopped``, ``on-failure[:N]``."""
    name, _, count = value.partition(":")
    if name not in ("no", "always", "on-failure", "unless-stopped") or (count and (
            name != "on-failure" or not count.isdigit())):
        raise InvalidSpec(f"invalid restart policy {value!r}", location=Location(key_path="--restart"),
                          hint="no, always, unless-stopped, on-failure or on-failure:N")
    return RestartPolicy(name, int(count or 0))  # type: ignore[arg-type]


def _labels(items: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, _, v in (i.partition("=") for i in items)}


def _memory(value: str | None, flag: str = "--memory") -> int | None:
    if value is None:
        return None
    from stackfile.spec.units import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise InvalidSpec(str(exc), location=Location(key_path=flag)) from None


def _seccomp(options: tuple[str, ...]) -> bool:
    on = True
    for opt in options:
        key, _, value = opt.replace(":", "=", 1).partition("=")
        if key == "seccomp" and value in ("unconfined", "default"):
            on = value == "default"
        elif key not in ("no-new-privileges",):
            raise InvalidSpec(f"unsupported security option {opt!r}",
                              location=Location(key_path="--security-opt"),
                              hint="seccomp=unconfined, seccomp=default or no-new-privileges")
    return on


def _swap(value: str | None) -> int | None:
    return -1 if value == "-1" else _memory(value, "--memory-swap")


def _pairs(items: tuple[str, ...], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise InvalidSpec(f"expected KEY=VALUE, got {item!r}", location=Location(key_path=flag))
        out[key] = value
    return out


def _ulimit(name: str, value: str) -> tuple[int, int]:
    soft, _, hard = value.partition(":")
    try:
        return int(soft), int(hard or soft)
    except ValueError:
        raise InvalidSpec(f"invalid ulimit {name}={value!r}", location=Location(key_path="--ulimit"),
                          hint="NAME=SOFT[:HARD], e.g. nofile=1024:2048") from None


def _bind(spec: str) -> Mount:
    """``-v HOST:CONTAINER[:ro|rw]``: a bind mount of an absolute (or ./relative) host path."""
    parts = spec.split(":")
    mode = parts.pop() if len(parts) == 3 else "rw"
    if len(parts) != 2 or mode not in ("ro", "rw") or not parts[0].startswith(("/", ".")):
        raise InvalidSpec(f"invalid volume {spec!r}", location=Location(key_path="--volume"),
                          hint="HOST_PATH:CONTAINER_PATH[:ro] with an absolute or ./relative host path "
                               "(named volumes belong in a stack file)")
    return Mount("bind", parts[1], os.path.abspath(parts[0]), read_only=mode == "ro")


def _tmpfs(spec: str) -> Mount:
    """``--tmpfs /path[:size=64m,mode=1777]``."""
    target, _, opts = spec.partition(":")
    try:
        options, flags = split_tmpfs_options(opts)
    except ValueError as exc:
        raise InvalidSpec(str(exc), location=Location(key_path="--tmpfs"), hint=TMPFS_OPTIONS_HINT) from None
    size = _memory(options["size"], "--tmpfs") if "size" in options else None
    mode = int(options["mode"], 8) if "mode" in options else None
    return Mount("tmpfs", target, tmpfs_size=size, tmpfs_mode=mode, options=flags,
                 read_only="ro" in flags)


def _argv(config: Mapping[str, Any], opts: RunOptions) -> tuple[str, ...]:
    if opts.entrypoint is not None:
        entry = [opts.entrypoint] if opts.entrypoint else []
        return (*entry, *opts.command)
    entry = list(config.get("Entrypoint") or [])
    cmd = list(opts.command) or list(config.get("Cmd") or [])
    return (*entry, *cmd)


def build_spec(config: Mapping[str, Any], layers: tuple[str, ...], opts: RunOptions,
               environ: Mapping[str, str]) -> ContainerSpec:
    """Merge the image config (Env, Cmd, Entrypoint, WorkingDir, User, Labels, StopSignal) with the
    flags, as ``docker run`` does."""
    argv = _argv(config, opts)
    if not argv:
        raise InvalidSpec(f"no command given and image {opts.image!r} has no Cmd or Entrypoint",
                          hint="put the command after the image name")
    if opts.network not in ("none", "host"):
        raise InvalidSpec(f"unknown network {opts.network!r}", location=Location(key_path="--network"),
                          hint="none or host")
    env = parse_env(list(config.get("Env") or []), {})
    for path in opts.env_files:
        env.update(_env_file(path, environ))
    env.update(parse_env(opts.env, environ))
    if opts.cpus is not None and opts.cpus <= 0:
        raise InvalidSpec("--cpus must be above 0", location=Location(key_path="--cpus"))
    return ContainerSpec(
        name=opts.name,
        layers=layers,
        process=Process(argv=argv, env=env, cwd=opts.workdir or config.get("WorkingDir") or "/",
                        user=opts.user if opts.user is not None else config.get("User") or "",
                        tty=opts.tty, stdin_open=opts.interactive),
        hostname=opts.hostname,
        resources=Resources(memory=_memory(opts.memory), cpus=opts.cpus, pids_limit=opts.pids_limit,
                            memory_swap=_swap(opts.memory_swap), cpu_shares=opts.cpu_shares),
        mounts=(*(_bind(v) for v in opts.volumes), *(_tmpfs(t) for t in opts.tmpfs)),
        sysctls=_pairs(opts.sysctls, "--sysctl"),
        ulimits={k: _ulimit(k, v) for k, v in _pairs(opts.ulimits, "--ulimit").items()},
        shm_size=_memory(opts.shm_size, "--shm-size"),
        stop_grace_seconds=10.0 if opts.stop_timeout is None else opts.stop_timeout,
        network=NetworkAttachment(mode=opts.network),  # type: ignore[arg-type]
        restart=parse_restart(opts.restart),
        stop_signal=opts.stop_signal or config.get("StopSignal") or "SIGTERM",
        labels={**(config.get("Labels") or {}), **_labels(opts.labels)},
        cap_add=opts.cap_add, cap_drop=opts.cap_drop, privileged=opts.privileged,
        read_only=opts.read_only, init=opts.init, auto_remove=opts.rm,
        seccomp=_seccomp(opts.security_opt),
    )


def _stored_image(paths: StorePaths, ref: str) -> ImageRecord | None:
    """The image if the store already has it (skips loading the builder for base sources)."""
    if not os.path.exists(paths.db_str):
        return None
    from stackfile.store.images import ImageStore

    return ImageStore(paths).resolve(ref)


# ``container run`` remembers what its image references resolved to in ``containers/.run-images.json``
# so the next run need not import sqlite3 and open the store database (~4.5 ms). An entry holds only
# while the database files and the image-names marker are exactly as they were (inode, size, mtime;
# not ctime: SQLite fchowns the WAL on every open as root): any write to the store changes one of
# them. Entries are saved only when the store did not change while it was read, and not while its
# files are racily new (a write within the same clock tick could leave their mtime unchanged).
_RUN_IMAGES = ".run-images.json"
_RACY_NS = 100_000_000


def _store_stamp(paths: StorePaths) -> list[list[int] | None]:
    """[inode, size, mtime] of the database, its WAL and the names marker (None: missing); [] when
    one cannot be read (then nothing is looked up or saved)."""
    out: list[list[int] | None] = []
    for path in (paths.db_str, f"{paths.db_str}-wal", paths.image_names_marker_str):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            out.append(None)
            continue
        except OSError:
            return []
        out.append([st.st_ino, st.st_size, st.st_mtime_ns])
    return out


def _remembered(paths: StorePaths, ref: str, stamp: list[list[int] | None]) -> dict[str, Any] | None:
    import json

    try:
        with open(os.path.join(paths.containers_str, _RUN_IMAGES)) as fh:
            data = json.load(fh)
        if data["stamp"] != stamp:
            return None
        entry = data["refs"][ref]
        return {"config": dict(entry["config"]), "layers": [str(x) for x in entry["layers"]]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remember(paths: StorePaths, ref: str, image: ImageRecord, stamp: list[list[int] | None]) -> None:
    import json

    now = time.time_ns()
    racy = any(s is not None and now - s[2] < _RACY_NS for s in stamp)
    if not stamp or racy or _store_stamp(paths) != stamp:
        return
    path = os.path.join(paths.containers_str, _RUN_IMAGES)
    try:
        with open(path) as fh:
            data = json.load(fh)
        refs = data["refs"] if data["stamp"] == stamp and isinstance(data["refs"], dict) else {}
    except (OSError, ValueError, KeyError, TypeError):
        refs = {}
    refs[ref] = {"config": image.config, "layers": list(image.layers)}
    tmp = f"{path}.{os.getpid()}"
    try:
        os.makedirs(paths.containers_str, mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"stamp": stamp, "refs": refs}, fh)
        os.replace(tmp, path)
    except OSError:  # only a cache: the next run reads the store again
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _run_image(paths: StorePaths, ref: str, sink: EventSink | None,
               environ: Mapping[str, str] | None = None) -> tuple[Mapping[str, Any], tuple[str, ...]]:
    """(image config, lower dirs top first) of the image ``ref`` names, made if it is a base source."""
    stamp = _store_stamp(paths)
    hit = _remembered(paths, ref, stamp) if stamp and stamp[0] is not None else None
    if hit is not None:
        return hit["config"], tuple(paths.layer_str(lid) for lid in reversed(hit["layers"]))
    image = _stored_image(paths, ref)
    if image is not None:
        _remember(paths, ref, image, stamp)
    else:
        from stackfile.engine.images import ensure_image
        from stackfile.events import discard

        image = ensure_image(paths, ref, sink or discard, environ)
    return image.config, image.lower_dirs(paths)


def run(paths: StorePaths, opts: RunOptions, environ: Mapping[str, str],
        sink: EventSink | None = None, stdio: tuple[int, int, int] | None = None) -> RunResult:
    """``container run``: resolve the image, build the spec, then run in the foreground (on the
    caller's stdio, or on the ``stdio`` descriptors) or start detached under a shim."""
    if opts.rm and opts.restart != "no":
        raise InvalidSpec("--rm and --restart cannot be combined", location=Location(key_path="--restart"))
    config, layers = _run_image(paths, opts.image, sink, environ)
    spec = build_spec(config, layers, opts, environ)
    rt = runtime(paths)
    if not opts.detach:
        code = rt.run_attached(spec, image=opts.image, stdio=stdio)
        return RunResult("", code)
    cid = rt.create(spec, image=opts.image)
    try:
        rt.start(cid)
    except BaseException:
        if opts.rm:
            rt.remove(cid, force=True)
        raise
    if sink is not None:
        from stackfile.events import Event

        sink(Event("container.start", cid))
    return RunResult(cid)


def exec_in(paths: StorePaths, ref: str, argv: tuple[str, ...], *, env: tuple[str, ...] = (),
            environ: Mapping[str, str] | None = None, user: str = "", workdir: str = "",
            interactive: bool = False, tty: bool = False, detach: bool = False,
            privileged: bool = False) -> int:
    """``container exec``: returns the process's exit code (0 at once with ``detach``)."""
    if not argv:
        raise InvalidSpec("exec needs a command", hint="stackfile container exec CONTAINER COMMAND [ARG...]")
    spec = ExecSpec(argv=argv, env=parse_env(env, environ or {}), cwd=workdir, user=user, tty=tty,
                    stdin_open=interactive, privileged=privileged, detach=detach)
    return runtime(paths).exec(ref, spec)


def parse_since(value: str | None, now: float | None = None) -> str | None:
    """``--since``: an RFC 3339 time, a Unix timestamp, or a duration back from now (``10m``)."""
    from stackfile.engine.log_time import parse_log_time

    return parse_log_time(value, "since", None if now is None else int(now * 1e9))


def age_seconds(stamp: str) -> float:
    """Seconds from an RFC 3339 UTC time to now."""
    from stackfile.runtime.linux.state import to_ns

    return time.time() - to_ns(stamp) / 1e9


def spec_dict(rt: Runtime, ref: str) -> dict[str, Any]:
    """The container's spec as plain JSON-able data (``inspect``'s Config)."""
    data: dict[str, Any] = to_plain(rt.spec_of(ref))
    return data


def logs(paths: StorePaths, ref: str, *, follow: bool = False, tail: int | None = None,
         since: str | None = None) -> Iterator[LogLine]:
    """The container's log lines."""
    return runtime(paths).logs(ref, follow=follow, tail=tail, since=parse_since(since))
