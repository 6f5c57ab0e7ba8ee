"""Create, start, stop and remove one service container: network sandbox, mounts, spec, health."""

from __future__ import annotations

import contextlib
from typing import Any

from stackfile.engine import project_spec as S
from stackfile.engine.project_context import ProjectContext
from stackfile.engine.project_mounts import service_mounts
from stackfile.errors import InvalidSpec, Location, NotFound, StackfileError
from stackfile.events import Event
from stackfile.reconcile import labels as L
from stackfile.reconcile.desired import DesiredService, get, network_name, service_image
from stackfile.reconcile.health import health_config
from stackfile.reconcile.health_main import health_path, spawn, stop_monitor
from stackfile.runtime.api import ContainerSpec, NetworkAttachment

__all__ = [
    "container_spec",
    "create_container",
    "ensure_health_monitor",
    "ensure_monitors",
    "remove_container",
    "restart_container",
    "service_health",
    "start_container",
    "stop_container",
]


def _labels(ctx: ProjectContext, service: Any, desired: DesiredService, number: int, image_id: str,
            oneoff: bool) -> dict[str, str]:
    labels = dict(service.labels)
    labels.update({
        L.PROJECT: ctx.name, L.SERVICE: service.name, L.NUMBER: str(number), L.ONEOFF: str(oneoff),
        L.CONFIG_HASH: desired.hash, L.CONFIG_FIELDS: _fields_label(desired), L.IMAGE: image_id,
        L.DEPENDS_ON: ",".join(d.service for d in desired.depends_on), L.WORKING_DIR: ctx.working_dir,
        L.CONFIG_FILES: ",".join(getattr(ctx.project, "files", None) or []),
    })
    return labels


def _fields_label(desired: DesiredService) -> str:
    from stackfile.reconcile.hash import encode_fields

    return encode_fields(desired.fields)


def _attachments(ctx: ProjectContext, service: Any, container_name: str) -> list[Any]:
    """One attachment per network; the names are the service's, the container's, the network's
    aliases and a ``hostname`` the service sets (Docker's DNS answers for it too)."""
    from stackfile.network.model import Attachment

    out = []
    nets = service.networks or {"default": None}
    for key in service.network_names() if service.networks else ["default"]:
        cfg = nets.get(key)
        aliases = {service.name, container_name, *(cfg.aliases if cfg else ()),
                   *((service.hostname,) if service.hostname else ())}
        out.append(Attachment(network=network_name(ctx.stack, key), aliases=tuple(sorted(aliases)),
                              ipv4_address=cfg.ipv4_address if cfg else None,
                              mac=(cfg.mac_address if cfg else None) or service.mac_address))
    return out


def _port_bindings(service: Any) -> list[Any]:
    from stackfile.network.model import PortBinding

    return [PortBinding(container_port=p.target, host_port=p.published or None, host_ip=p.host_ip or "",
                        protocol=p.protocol or "tcp") for p in service.ports]


def _links(service: Any) -> list[tuple[str, str]]:
    """``links`` as (alias, service) pairs: ``db:database`` makes ``database`` resolve to ``db``
    for this container (Docker's links on a user-defined network are names in its DNS)."""
    out = []
    for link in service.links:
        target, _, alias = str(link).partition(":")
        if alias and alias != target:
            out.append((alias, target))
    return out


def _network(ctx: ProjectContext, service: Any, container_name: str, hostname: str,
             publish: bool) -> tuple[NetworkAttachment, str | None, str | None]:
    mode = service.network_mode or ""
    if mode == "host":
        return NetworkAttachment(mode="host"), None, None
    if mode == "none":
        return NetworkAttachment(mode="none"), None, None
    if mode.startswith(("service:", "container:")):
        kind, _, ref = mode.partition(":")
        target = _running_container(ctx, ref) if kind == "service" else ctx.runtime.inspect(ref).id
        return NetworkAttachment(mode="container", container_id=target), None, None
    with contextlib.suppress(StackfileError):
        ctx.networks.destroy_sandbox(container_name)  # a leftover of an interrupted run
    sandbox = ctx.networks.create_sandbox(
        container_name, _attachments(ctx, service, container_name),
        hostname=f"{hostname}.{service.domainname}" if service.domainname else hostname,
        link_aliases=_links(service), extra_hosts=service.extra_hosts, dns=service.dns,
        dns_search=service.dns_search, dns_options=service.dns_opt,
        ports=_port_bindings(service) if publish else (), who=service.name)
    attachment = NetworkAttachment(mode="path", netns_path=sandbox.netns_path)
    return attachment, sandbox.etc_hosts, sandbox.resolv_conf


def _running_container(ctx: ProjectContext, service: str) -> str:
    for status in ctx.containers(all=False):
        if status.labels.get(L.SERVICE) == service:
            return str(status.id)
    raise NotFound(f"network_mode service:{service}: no running container of service {service!r}")


def container_spec(ctx: ProjectContext, desired: DesiredService, number: int, *, name: str = "",
                   oneoff: bool = False, publish: bool = True,
                   overrides: dict[str, Any] | None = None) -> ContainerSpec:
    """The runtime spec of container ``number`` of a service; makes its network sandbox first.

    ``overrides`` replace service fields (``run``: command, entrypoint, environment, user...).
    On failure after the sandbox was made, the caller removes it with :func:`remove_container`.
    """
    service = ctx.stack.services[desired.name]
    if overrides:
        service = service.model_copy(update=overrides)
    image = ctx.images.get(desired.image)
    name = name or desired.container_name_for(ctx.name, number)
    hostname = service.hostname or name
    if (service.network_mode or "").startswith(("service:", "container:")):
        if service.hostname:  # the other container's names are this one's (Docker's rule)
            raise InvalidSpec("conflicting options: hostname and the network mode",
                              location=Location(key_path=f"services.{service.name}.hostname"),
                              hint=f"drop hostname: or network_mode: {service.network_mode}")
        hostname = ""
    layers = image.lower_dirs(ctx.paths)
    mounts = service_mounts(ctx, service, name, layers)
    mounts += S.file_mounts(service, ctx.stack, ctx.state_dir, ctx.environ,
                            warn=lambda text: ctx.sink(Event("project.warning", text)))
    proc = S.process(service, image.config)
    network, hosts, resolv = _network(ctx, service, name, hostname, publish)
    return ContainerSpec(
        name=name, layers=layers, process=proc,
        hostname=hostname, domainname=service.domainname or "", mounts=tuple(mounts),
        resources=S.resources(service), network=network, etc_hosts=hosts, resolv_conf=resolv,
        restart=S.restart_policy(service),
        stop_signal=service.stop_signal or image.config.get("StopSignal") or "SIGTERM",
        stop_grace_seconds=service.stop_grace_seconds,
        labels=_labels(ctx, service, desired, number, image.id, oneoff),
        cap_add=tuple(service.cap_add), cap_drop=tuple(service.cap_drop), privileged=service.privileged,
        read_only=service.read_only, init=bool(service.init), sysctls=dict(service.sysctls),
        ulimits=service.ulimit_pairs(), shm_size=service.shm_size_bytes, **_security(service),
        on_exit=_release_ports_on_exit(ctx, name) if publish and service.ports else (),
    )


def _release_ports_on_exit(ctx: ProjectContext, name: str) -> tuple[str, ...]:
    """The command that frees the container's published ports when it exits by itself."""
    from stackfile.network.release_ports import command

    return command(str(ctx.paths.root), name)


def _security(service: Any) -> dict[str, Any]:
    """``security_opt: [seccomp=unconfined]`` when the runtime has a seccomp switch."""
    if "seccomp" not in ContainerSpec._fields:
        return {}
    unconfined = any(o.replace(":", "=", 1) == "seccomp=unconfined" for o in service.security_opt)
    return {"seccomp": not unconfined}


def create_container(ctx: ProjectContext, desired: DesiredService, number: int) -> str:
    """Create (not start) the container ``number`` of a service; returns its id."""
    spec = container_spec(ctx, desired, number)
    try:
        return str(ctx.runtime.create(spec, image=desired.image))
    except BaseException:
        if spec.network.mode == "path":
            with contextlib.suppress(StackfileError):
                ctx.networks.destroy_sandbox(spec.name)
        raise


def service_health(ctx: ProjectContext, service_name: str) -> Any:
    """The service's effective healthcheck (its own over its image's), or None."""
    service = ctx.service_config(service_name)
    if service is None:
        return None
    check = service.get("healthcheck")
    image_config: dict[str, Any] = {}
    if check is None or get(check, "test") is None:  # the image's HEALTHCHECK is the default
        record = ctx.images.resolve(service_image(ctx.config, service_name, service)[0])
        image_config = record.config if record is not None else {}
    return health_config(check, image_config)


def ensure_health_monitor(ctx: ProjectContext, container_id: str, service_name: str) -> None:
    """Start the detached health monitor of a running container that has a healthcheck."""
    config = service_health(ctx, service_name)
    if config is not None:
        path = health_path(ctx.paths, ctx.name, container_id)
        from stackfile.reconcile.health import HealthRecord, write_health

        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        pid = spawn(ctx.paths, ctx.name, container_id, config)
        if not path.exists():  # so a second look sees the monitor before its first write
            write_health(path, HealthRecord(monitor_pid=pid))


def ensure_monitors(ctx: ProjectContext, services: list[str]) -> None:
    """Give every running container of ``services`` that has a healthcheck a live monitor
    (after an interrupted ``up``, a crash or a reboot of the monitor)."""
    from stackfile.reconcile.health_main import monitor_alive

    for status in ctx.containers(all=False):
        service = status.labels.get(L.SERVICE, "")
        if service in services and status.state.value == "running" \
                and not monitor_alive(ctx.paths, ctx.name, status.id):
            ensure_health_monitor(ctx, status.id, service)


def start_container(ctx: ProjectContext, ref: str, service_name: str, name: str = "") -> None:
    """Start a container (by id or name, ``name`` if known) and its health monitor; the host ports
    a stop freed are bound again first."""
    if len(ref) != 64 or not name:
        status = ctx.runtime.inspect(ref)
        ref, name = str(status.id), name or str(status.name)
    ctx.networks.resume_ports(name, who=service_name)
    ctx.runtime.start(ref)
    ensure_health_monitor(ctx, ref, service_name)


def restart_container(ctx: ProjectContext, container_id: str, name: str, service_name: str, *,
                      timeout: float | None = None) -> None:
    """Restart a container (running or not) and its health monitor; a stopped one's freed host
    ports are bound again first."""
    ctx.networks.resume_ports(name, who=service_name)
    ctx.runtime.restart(container_id, timeout=timeout)
    ensure_health_monitor(ctx, container_id, service_name)


def stop_container(ctx: ProjectContext, ref: str, name: str, *, timeout: float | None = None) -> None:
    """Stop a container (stop signal, grace, kill) and free its published host ports, as Docker
    does; they stay recorded, and :func:`start_container` binds them again."""
    ctx.runtime.stop(ref, timeout=timeout)
    ctx.networks.suspend_ports(name)



def remove_container(ctx: ProjectContext, ref: str, name: str, *, timeout: float | None = None,
                     anonymous_volumes: bool = False) -> None:
    """Stop (grace, then kill) and remove a container, its sandbox and health record.

    Its anonymous volumes are kept unless ``anonymous_volumes`` (Compose: ``rm -v``, ``down -v``);
    they are named after the container and target, so a recreated container gets them back.
    """
    try:
        status = ctx.runtime.inspect(ref)
    except NotFound:
        status = None
    if status is not None:
        if status.state.value in ("running", "paused", "restarting"):
            ctx.runtime.stop(status.id, timeout=timeout)
        ctx.runtime.remove(status.id, force=True)
        stop_monitor(ctx.paths, ctx.name, status.id)
    with contextlib.suppress(StackfileError):
        ctx.networks.destroy_sandbox(name)
    with contextlib.suppress(StackfileError):
        ctx.volumes.release(name, remove_anonymous=anonymous_volumes)
