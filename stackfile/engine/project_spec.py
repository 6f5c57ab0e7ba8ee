"""Service (typed model) + image config -> the runtime's ContainerSpec parts, as Docker merges them.

Pure functions except :func:`file_mounts`, which materialises environment/inline secrets and
configs as files under the project's state dir so they can be bind-mounted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from stackfile.errors import InvalidSpec, Location
from stackfile.runtime.api import Mount, Process, Resources, RestartPolicy

__all__ = ["command_argv", "environment", "file_mounts", "process", "resources", "restart_policy"]


def command_argv(service: Any, image_config: Mapping[str, Any]) -> tuple[str, ...]:
    """Entrypoint + command: a service entrypoint resets the image's CMD (Docker's rule)."""
    if service.entrypoint is not None:
        entry = list(service.entrypoint)
        cmd = list(service.command or ())
    else:
        entry = list(image_config.get("Entrypoint") or ())
        cmd = list(service.command if service.command is not None else image_config.get("Cmd") or ())
    argv = tuple(entry + cmd)
    if not argv:
        raise InvalidSpec(f"service {service.name!r} has no command",
                          location=Location(key_path=f"services.{service.name}.command"),
                          hint="set command: (or entrypoint:) or use an image with a CMD")
    return argv


def environment(service: Any, image_config: Mapping[str, Any]) -> dict[str, str]:
    """The image's Env overlaid with the service's environment (unset values dropped)."""
    env: dict[str, str] = {}
    for item in image_config.get("Env") or ():
        key, _, value = str(item).partition("=")
        env[key] = value
    for key, value in service.environment.items():
        if value is not None:
            env[key] = str(value)
    return env


def process(service: Any, image_config: Mapping[str, Any], argv: tuple[str, ...] | None = None,
            env: Mapping[str, str] | None = None) -> Process:
    """The container's main process."""
    return Process(
        argv=argv or command_argv(service, image_config),
        env=dict(env if env is not None else environment(service, image_config)),
        cwd=service.working_dir or image_config.get("WorkingDir") or "/",
        user=service.user or image_config.get("User") or "",
        additional_groups=tuple(service.group_add),
        tty=service.tty,
        stdin_open=service.stdin_open,
    )


def resources(service: Any) -> Resources:
    cpu_shares = service.cpu_shares
    return Resources(
        memory=service.memory_limit_bytes,
        memory_swap=service.memswap_limit_bytes,
        memory_reservation=service.memory_reservation_bytes,
        cpus=service.cpus_limit,
        cpu_shares=int(cpu_shares) if cpu_shares is not None else None,
        pids_limit=service.pids,
    )


def restart_policy(service: Any) -> RestartPolicy:
    name, retries = service.restart_policy
    if name not in ("no", "always", "on-failure", "unless-stopped"):
        raise InvalidSpec(f"unknown restart policy {name!r}",
                          location=Location(key_path=f"services.{service.name}.restart"),
                          hint="one of: no, always, on-failure[:N], unless-stopped")
    return RestartPolicy(name=name, max_retries=retries or 0)


def _undefined(kind: str, name: str) -> InvalidSpec:
    return InvalidSpec(f"undefined {kind[:-1]} {name!r}", location=Location(key_path=f"{kind}.{name}"))


def _id(value: str | None, key: str) -> int:
    """A secret's or config's ``uid``/``gid``: a number, as Compose requires (0 when unset)."""
    if value is None or value == "":
        return 0
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise InvalidSpec(f"invalid {key.rsplit('.', 1)[-1]} {value!r}", location=Location(key_path=key),
                          hint="a numeric id such as 1000 (names are not looked up)")
    return number


def _materialise(kind: str, service: str, index: int, ref: Any, text: str, target: str,
                 state_dir: Path) -> str:
    """Write an environment/inline secret or config for one service reference, owned and
    moded as the reference says (Compose: ``mode`` 0444, uid 0 and gid 0 by default); the new
    file replaces the old one by rename, so a running container keeps what it was given."""
    key = f"services.{service}.{kind}[{index}]"
    uid, gid = _id(ref.uid, f"{key}.uid"), _id(ref.gid, f"{key}.gid")
    try:
        mode = ref.mode_bits(0o444)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise InvalidSpec(f"invalid mode {ref.mode!r}", location=Location(key_path=f"{key}.mode"),
                          hint="an octal file mode such as 0400 or 0440")
    folder = state_dir / kind / service
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    out = folder / target.strip("/").replace("/", "__")
    tmp = out.with_name(out.name + ".new")
    tmp.unlink(missing_ok=True)
    tmp.write_text(text)
    os.chown(tmp, uid, gid)
    tmp.chmod(mode)
    tmp.replace(out)
    return str(out)


def _unsupported(kind: str) -> str:
    """Compose's warning for ``uid``/``gid``/``mode`` on a file-sourced secret or config."""
    return f"{'secrets' if kind == 'secrets' else 'config'} `uid`, `gid` and `mode` are not supported, " \
           "they will be ignored"


def file_mounts(service: Any, stack: Any, state_dir: Path, environ: Mapping[str, str],
                warn: Callable[[str], None] | None = None) -> list[Mount]:
    """Secrets at ``/run/secrets/<name>`` and configs at ``/<name>`` (or their ``target``), read-only.

    An environment or inline (``content``) source becomes a file with the reference's ``mode``,
    ``uid`` and ``gid``; a ``file`` source is bind-mounted as it is on the host, and giving it
    ``uid``/``gid``/``mode`` calls ``warn`` with Compose's warning.
    """
    mounts = []
    for kind, base in (("secrets", "/run/secrets/"), ("configs", "/")):
        for index, ref in enumerate(getattr(service, kind)):
            top = getattr(stack, kind).get(ref.source)
            if top is None:
                raise _undefined(kind, ref.source)
            target = ref.target or ref.source
            if not target.startswith("/"):
                target = base + target
            if top.file:
                source = str(top.file)
                if (ref.uid or ref.gid or ref.mode is not None) and warn is not None:
                    warn(_unsupported(kind))
            elif top.environment is not None or top.content is not None:
                text = environ.get(top.environment, "") if top.environment is not None else top.content
                source = _materialise(kind, service.name, index, ref, text or "", target, state_dir)
            else:
                raise InvalidSpec(f"{kind[:-1]} {ref.source!r} has no file, environment or content",
                                  location=Location(key_path=f"{kind}.{ref.source}"),
                                  hint="external secrets and configs need a secret store, which stackfile "
                                       "has not")
            mounts.append(Mount(type="bind", source=source, target=target, read_only=True))
    return mounts
