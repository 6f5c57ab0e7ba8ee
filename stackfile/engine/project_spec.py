"""Service (typed model) + image config -> the runtime's ContainerSpec parts, as Docker merges them.

Pure functions except :func:`file_mounts`, which materialises environment/inline secrets and
configs as files under the project's state dir so they can be bind-mounted.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def _file_source(kind: str, name: str, top: Any, state_dir: Path) -> str:
    if top is None:
        raise InvalidSpec(f"undefined {kind[:-1]} {name!r}", location=Location(key_path=f"{kind}.{name}"))
    if top.file:
        return str(top.file)
    if top.environment is not None or top.content is not None:
        out = state_dir / kind / name
        out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = top.content if top.content is not None else top.extension("_resolved", "") or ""
        out.write_text(text)
        out.chmod(0o444)
        return str(out)
    raise InvalidSpec(f"{kind[:-1]} {name!r} has no file, environment or content",
                      location=Location(key_path=f"{kind}.{name}"),
                      hint="external secrets and configs need a secret store, which stackfile has not")


def file_mounts(service: Any, stack: Any, state_dir: Path, environ: Mapping[str, str]) -> list[Mount]:
    """Secrets at ``/run/secrets/<name>`` and configs at ``/<name>`` (or their ``target``), read-only."""
    mounts = []
    for kind, base in (("secrets", "/run/secrets/"), ("configs", "/")):
        for ref in getattr(service, kind):
            top = getattr(stack, kind).get(ref.source)
            if top is not None and top.environment is not None and top.file is None:
                top = top.model_copy(update={"content": environ.get(top.environment, "")})
            source = _file_source(kind, ref.source, top, state_dir)
            target = ref.target or ref.source
            if not target.startswith("/"):
                target = base + target
            mounts.append(Mount(type="bind", source=source, target=target, read_only=True))
    return mounts
