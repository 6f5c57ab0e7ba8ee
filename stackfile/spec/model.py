"""Frozen typed models of the canonical Compose form (what ``docker compose config`` prints).

The loader turns files into one canonical dict; :func:`build_stack` types it. The models accept
every Compose key (unknown or loosely used ones stay available as extras), are immutable, and
carry small helpers the engine needs (seconds, bytes, replicas, restart policy). Conversion errors
are :class:`~stackfile.errors.InvalidSpec` naming the key path, never a pydantic error.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from stackfile.errors import InvalidSpec, Location
from stackfile.spec.typed import BeforeValidator, Field, FrozenModel, ModelError, field_validator

__all__ = [
    "BindOptions",
    "BuildConfig",
    "DependsOn",
    "Deploy",
    "Develop",
    "FileRef",
    "Healthcheck",
    "ImageDef",
    "ImageVolumeOptions",
    "Ipam",
    "IpamPool",
    "Network",
    "Port",
    "ResourceLimits",
    "ResourceReservations",
    "Resources",
    "RestartPolicy",
    "Service",
    "ServiceHook",
    "ServiceNetwork",
    "ServiceVolume",
    "Stack",
    "TmpfsOptions",
    "TopLevelFile",
    "Ulimit",
    "Volume",
    "VolumeOptions",
    "WatchRule",
    "build_stack",
    "parse_duration",
    "parse_size",
]

# ---------------------------------------------------------------------------------------- helpers

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                   "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_duration(value: str | int | float, *, key_path: str | None = None) -> float:
    """Go-style duration text (``1m30s``, ``500ms``, ``1h``) or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise _bad_duration(value, key_path)
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    parts = _DURATION_PART.findall(body)
    if not body or "".join(n + u for n, u in parts) != body:
        raise _bad_duration(value, key_path)
    return sign * sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


def _bad_duration(value: object, key_path: str | None) -> InvalidSpec:
    return InvalidSpec(f"invalid duration {value!r}", location=Location(key_path=key_path),
                       hint="use a Go duration such as 30s, 1m30s, 500ms or 2h")


def parse_size(value: str | int | float, *, key_path: str | None = None) -> int:
    """Docker size text (``64m``, ``1g``, ``512kb``, ``1.5GiB``) or a number of bytes → bytes (1k = 1024)."""
    if isinstance(value, bool):
        raise _bad_size(value, key_path)
    if isinstance(value, int | float):
        return int(value)
    match = _SIZE.match(value)
    if match is None:
        raise _bad_size(value, key_path)
    number, unit, _ = match.groups()
    return int(float(number) * _SIZE_UNITS[unit.lower()])


def _bad_size(value: object, key_path: str | None) -> InvalidSpec:
    return InvalidSpec(f"invalid size {value!r}", location=Location(key_path=key_path),
                       hint="use a byte count or a number with a unit: b, k, m, g (e.g. 64m, 1g)")


def _opt_duration(value: str | int | float | None) -> float | None:
    return None if value is None else parse_duration(value)


def _as_tuple(value: Any) -> Any:
    if value is None:
        return ()
    if isinstance(value, str | int | float):
        return (str(value),)
    return tuple(str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value)


def _as_str_map(value: Any, *, keep_none: bool = False) -> Any:
    """``["K=V", "K"]`` or ``{K: V}`` → ``{K: "V"}``; numbers/bools become text (Compose does too)."""
    if value is None:
        return {}
    if isinstance(value, list | tuple):
        out: dict[str, Any] = {}
        for item in value:
            key, sep, val = str(item).partition("=")
            out[key] = val if sep else None
        value = out
    if not isinstance(value, Mapping):
        return value
    return {str(k): _scalar_text(v, keep_none) for k, v in value.items()}


def _scalar_text(value: Any, keep_none: bool) -> Any:
    if value is None:
        return None if keep_none else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _command(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(shlex.split(value))
    return value


def _env_map(value: Any) -> Any:
    return _as_str_map(value, keep_none=True)


StrTuple = Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]
StrMap = Annotated[dict[str, str], BeforeValidator(_as_str_map)]
EnvMap = Annotated[dict[str, str | None], BeforeValidator(_env_map)]
Command = Annotated[tuple[str, ...] | None, BeforeValidator(_command)]


class _Model(FrozenModel):
    """Immutable, keeps unknown keys (x-*, rarely used Compose keys) as extras."""

    def extension(self, key: str, default: Any = None) -> Any:
        """An ``x-*`` (or other untyped) key of this object."""
        return (self.model_extra or {}).get(key, default)


# ---------------------------------------------------------------------------------------- service parts


class Port(_Model):
    """A published or exposed port in long form. ``published`` is text (may be a range ``8000-8002``)."""

    target: int
    published: str | None = None
    host_ip: str | None = None
    protocol: str = "tcp"
    mode: str = "ingress"
    name: str | None = None
    app_protocol: str | None = None

    @field_validator("published", mode="before")
    @classmethod
    def _published_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    def published_range(self) -> tuple[int, int] | None:
        """``(first, last)`` host ports, or None when the host port is chosen at random."""
        if not self.published:
            return None
        first, _, last = self.published.partition("-")
        return int(first), int(last or first)


class BindOptions(_Model):
    create_host_path: bool | None = None
    propagation: str | None = None
    selinux: str | None = None


class VolumeOptions(_Model):
    nocopy: bool = False
    subpath: str | None = None


class TmpfsOptions(_Model):
    size: int | str | None = None
    mode: int | str | None = None

    def size_bytes(self) -> int | None:
        return None if self.size is None else parse_size(self.size)


class ImageVolumeOptions(_Model):
    subpath: str | None = None


class ServiceVolume(_Model):
    """A service mount in long form: ``bind``, ``volume``, ``tmpfs``, ``image``, ``npipe``, ``cluster``."""

    type: str
    target: str
    source: str | None = None
    read_only: bool = False
    consistency: str | None = None
    bind: BindOptions | None = None
    volume: VolumeOptions | None = None
    tmpfs: TmpfsOptions | None = None
    image: ImageVolumeOptions | None = None


class ServiceNetwork(_Model):
    """Per-service settings on one network (``services.*.networks.<name>``)."""

    aliases: StrTuple = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: StrTuple = ()
    mac_address: str | None = None
    interface_name: str | None = None
    priority: int | None = None
    gw_priority: int | None = None
    driver_opts: dict[str, Any] = Field(default_factory=dict)



class DependsOn(_Model):
    condition: Literal["service_started", "service_healthy", "service_completed_successfully"] = (
        "service_started"
    )
    required: bool = True
    restart: bool = False


class Healthcheck(_Model):
    """Healthcheck with durations kept as text; ``*_seconds`` helpers convert them."""

    test: tuple[str, ...] | None = None
    interval: str | None = None
    timeout: str | None = None
    start_period: str | None = None
    start_interval: str | None = None
    retries: int | None = None
    disable: bool = False

    @field_validator("test", mode="before")
    @classmethod
    def _test(cls, v: Any) -> Any:
        return ("CMD-SHELL", v) if isinstance(v, str) else v

    @field_validator("interval", "timeout", "start_period", "start_interval", mode="before")
    @classmethod
    def _duration_text(cls, v: Any) -> Any:
        return f"{v}s" if isinstance(v, int | float) and not isinstance(v, bool) else v

    @property
    def disabled(self) -> bool:
        """True for ``disable: true`` or ``test: ["NONE"]``."""
        return self.disable or (self.test is not None and tuple(self.test[:1]) == ("NONE",))

    @property
    def interval_seconds(self) -> float | None:
        return _opt_duration(self.interval)

    @property
    def timeout_seconds(self) -> float | None:
        return _opt_duration(self.timeout)

    @property
    def start_period_seconds(self) -> float | None:
        return _opt_duration(self.start_period)

    @property
    def start_interval_seconds(self) -> float | None:
        return _opt_duration(self.start_interval)


class ResourceLimits(_Model):
    cpus: float | str | None = None
    memory: str | int | None = None
    pids: int | None = None


class ResourceReservations(_Model):
    cpus: float | str | None = None
    memory: str | int | None = None
    devices: Any = None
    generic_resources: Any = None


class Resources(_Model):
    limits: ResourceLimits | None = None
    reservations: ResourceReservations | None = None


class RestartPolicy(_Model):
    condition: str | None = None  # none | on-failure | any
    delay: str | None = None
    max_attempts: int | None = None
    window: str | None = None


class Deploy(_Model):
    mode: str | None = None
    replicas: int | None = None
    resources: Resources | None = None
    restart_policy: RestartPolicy | None = None
    labels: StrMap = Field(default_factory=dict)



class ServiceHook(_Model):
    """``post_start``/``pre_stop`` hooks and the ``exec`` of a ``sync+exec`` watch rule."""

    command: Command
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: EnvMap = Field(default_factory=dict)




class WatchRule(_Model):
    action: Literal["rebuild", "sync", "restart", "sync+restart", "sync+exec"]
    path: str
    target: str | None = None
    ignore: StrTuple = ()
    include: StrTuple = ()
    initial_sync: bool = False
    exec: ServiceHook | None = None



class Develop(_Model):
    watch: tuple[WatchRule, ...] = ()


class BuildConfig(_Model):
    """``build:`` in long form; ``context`` is absolute after the loader's canonical stage."""

    context: str | None = None
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    args: EnvMap = Field(default_factory=dict)
    target: str | None = None
    labels: StrMap = Field(default_factory=dict)
    network: str | None = None
    no_cache: bool = False
    pull: bool = False
    tags: StrTuple = ()
    platforms: StrTuple = ()
    additional_contexts: StrMap = Field(default_factory=dict)
    cache_from: StrTuple = ()
    cache_to: StrTuple = ()
    shm_size: int | str | None = None




class FileRef(_Model):
    """A service's reference to a top-level secret or config (long form)."""

    source: str
    target: str | None = None
    uid: str | None = None
    gid: str | None = None
    mode: int | str | None = None

    @field_validator("uid", "gid", mode="before")
    @classmethod
    def _ids(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    def mode_bits(self, default: int = 0o444) -> int:
        """The file mode as an int (text is octal, as Compose prints it)."""
        if self.mode is None:
            return default
        return self.mode if isinstance(self.mode, int) else int(str(self.mode), 8)


class Ulimit(_Model):
    soft: int
    hard: int


class Service(_Model):
    """One service in canonical long form. ``name`` is the ``services:`` key."""

    name: str = ""
    image: str | None = None
    build: BuildConfig | None = None
    command: Command = None
    entrypoint: Command = None
    environment: EnvMap = Field(default_factory=dict)
    env_file: Any = None
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    ports: tuple[Port, ...] = ()
    expose: StrTuple = ()
    volumes: tuple[ServiceVolume, ...] = ()
    volumes_from: StrTuple = ()
    tmpfs: StrTuple = ()
    networks: dict[str, ServiceNetwork | None] = Field(default_factory=dict)
    network_mode: str | None = None
    depends_on: dict[str, DependsOn] = Field(default_factory=dict)
    healthcheck: Healthcheck | None = None
    restart: str | None = None
    deploy: Deploy | None = None
    scale: int | None = None
    cap_add: StrTuple = ()
    cap_drop: StrTuple = ()
    privileged: bool = False
    read_only: bool = False
    init: bool | None = None
    stop_signal: str | None = None
    stop_grace_period: str | None = None
    mem_limit: str | int | None = None
    memswap_limit: str | int | None = None
    mem_reservation: str | int | None = None
    cpus: float | str | None = None
    cpu_shares: int | str | None = None
    pids_limit: int | None = None
    ulimits: dict[str, int | Ulimit] = Field(default_factory=dict)
    sysctls: StrMap = Field(default_factory=dict)
    shm_size: str | int | None = None
    tty: bool = False
    stdin_open: bool = False
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)
    container_name: str | None = None
    extra_hosts: StrTuple = ()
    dns: StrTuple = ()
    dns_search: StrTuple = ()
    dns_opt: StrTuple = ()
    secrets: tuple[FileRef, ...] = ()
    configs: tuple[FileRef, ...] = ()
    profiles: StrTuple = ()
    develop: Develop | None = None
    links: StrTuple = ()
    external_links: StrTuple = ()
    group_add: StrTuple = ()
    security_opt: StrTuple = ()
    device_cgroup_rules: StrTuple = ()
    post_start: tuple[ServiceHook, ...] = ()
    pre_stop: tuple[ServiceHook, ...] = ()
    platform: str | None = None
    pull_policy: str | None = None
    ipc: str | None = None
    pid: str | None = None
    uts: str | None = None
    cgroup: str | None = None
    userns_mode: str | None = None
    mac_address: str | None = None
    oom_score_adj: int | None = None
    runtime: str | None = None
    logging: Any = None
    devices: Any = None



    @field_validator("extra_hosts", mode="before")
    @classmethod
    def _hosts(cls, v: Any) -> Any:
        if isinstance(v, Mapping):
            return tuple(f"{k}={h}" for k, vals in v.items() for h in _as_tuple(vals))
        return _as_tuple(v)

    @field_validator("depends_on", mode="before")
    @classmethod
    def _deps(cls, v: Any) -> Any:
        return {name: {} for name in v} if isinstance(v, list | tuple) else v

    @field_validator("networks", mode="before")
    @classmethod
    def _nets(cls, v: Any) -> Any:
        return dict.fromkeys(v) if isinstance(v, list | tuple) else v

    @field_validator("secrets", "configs", mode="before")
    @classmethod
    def _refs(cls, v: Any) -> Any:
        return tuple({"source": r} if isinstance(r, str) else r for r in v or ())

    @field_validator("stop_grace_period", mode="before")
    @classmethod
    def _grace(cls, v: Any) -> Any:
        return f"{v}s" if isinstance(v, int | float) and not isinstance(v, bool) else v

    # ---- helpers the engine uses

    @property
    def effective_replicas(self) -> int:
        """``scale`` wins over ``deploy.replicas``; default 1."""
        if self.scale is not None:
            return self.scale
        if self.deploy is not None and self.deploy.replicas is not None:
            return self.deploy.replicas
        return 1

    @property
    def memory_limit_bytes(self) -> int | None:
        """``mem_limit`` or ``deploy.resources.limits.memory`` in bytes."""
        limits = self._limits()
        value = self.mem_limit if self.mem_limit is not None else (limits.memory if limits else None)
        return None if value is None else parse_size(value, key_path=f"services.{self.name}.mem_limit")

    @property
    def memory_reservation_bytes(self) -> int | None:
        res = self.deploy.resources.reservations if self.deploy and self.deploy.resources else None
        value = self.mem_reservation if self.mem_reservation is not None else (res.memory if res else None)
        return None if value is None else parse_size(value)

    @property
    def memswap_limit_bytes(self) -> int | None:
        """-1 means unlimited swap (Compose's convention)."""
        if self.memswap_limit is None:
            return None
        if str(self.memswap_limit).strip() == "-1":
            return -1
        return parse_size(self.memswap_limit, key_path=f"services.{self.name}.memswap_limit")

    @property
    def cpus_limit(self) -> float | None:
        """``cpus`` or ``deploy.resources.limits.cpus`` as a number of CPUs."""
        limits = self._limits()
        value = self.cpus if self.cpus is not None else (limits.cpus if limits else None)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raise InvalidSpec(f"invalid cpus value {value!r}",
                              location=Location(key_path=f"services.{self.name}.cpus"),
                              hint="a number of CPUs such as 0.5 or 2") from None

    @property
    def pids(self) -> int | None:
        """``pids_limit`` or ``deploy.resources.limits.pids``."""
        if self.pids_limit is not None:
            return self.pids_limit
        limits = self._limits()
        return limits.pids if limits else None

    @property
    def shm_size_bytes(self) -> int | None:
        return None if self.shm_size is None else parse_size(self.shm_size)

    @property
    def stop_grace_seconds(self) -> float:
        """``stop_grace_period`` in seconds (Compose's default 10 s)."""
        return 10.0 if self.stop_grace_period is None else parse_duration(self.stop_grace_period)

    @property
    def restart_policy(self) -> tuple[str, int | None]:
        """``(name, max_retries)``: name is ``no``, ``always``, ``on-failure`` or ``unless-stopped``.

        ``restart:`` wins; else ``deploy.restart_policy`` (``any`` → always, ``none`` → no)."""
        if self.restart:
            name, _, count = self.restart.partition(":")
            return name, (int(count) if count.isdigit() else None)
        policy = self.deploy.restart_policy if self.deploy else None
        if policy is None or policy.condition is None:
            return ("no", None) if policy is None else ("always", policy.max_attempts)
        name = {"any": "always", "none": "no", "on-failure": "on-failure"}.get(policy.condition, "no")
        return name, policy.max_attempts

    def ulimit_pairs(self) -> dict[str, tuple[int, int]]:
        """``{name: (soft, hard)}`` sorted by name; a single number means soft = hard."""
        out: dict[str, tuple[int, int]] = {}
        for key in sorted(self.ulimits):
            value = self.ulimits[key]
            out[key] = (value, value) if isinstance(value, int) else (value.soft, value.hard)
        return out

    def extra_host_pairs(self) -> list[tuple[str, str]]:
        """``[(hostname, ip)]`` from ``host=ip`` or ``host:ip`` entries (IPv6 kept whole)."""
        pairs = []
        for entry in self.extra_hosts:
            host, sep, ip = entry.partition("=")
            if not sep:
                host, _, ip = entry.partition(":")
            pairs.append((host, ip.strip("[]")))
        return pairs

    def network_names(self) -> list[str]:
        """Networks the service joins, sorted by priority (highest first) then name."""
        def order(name: str) -> tuple[int, str]:
            cfg = self.networks[name]
            return (-(cfg.priority or 0) if cfg else 0, name)

        return sorted(self.networks, key=order)

    def _limits(self) -> ResourceLimits | None:
        if self.deploy is None or self.deploy.resources is None:
            return None
        return self.deploy.resources.limits


# ---------------------------------------------------------------------------------------- top level


class IpamPool(_Model):
    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    aux_addresses: StrMap = Field(default_factory=dict)


class Ipam(_Model):
    driver: str | None = None
    config: tuple[IpamPool, ...] = ()
    options: StrMap = Field(default_factory=dict)


class Network(_Model):
    """A top-level network. ``name`` is the real (project-prefixed) name after the loader."""

    name: str | None = None
    driver: str | None = None
    driver_opts: dict[str, Any] = Field(default_factory=dict)
    external: bool = False
    internal: bool = False
    attachable: bool = False
    enable_ipv4: bool | None = None
    enable_ipv6: bool | None = None
    ipam: Ipam | None = None
    labels: StrMap = Field(default_factory=dict)



class Volume(_Model):
    name: str | None = None
    driver: str | None = None
    driver_opts: dict[str, Any] = Field(default_factory=dict)
    external: bool = False
    labels: StrMap = Field(default_factory=dict)



class TopLevelFile(_Model):
    """A top-level secret or config: from ``file``, ``environment``, inline ``content`` or external."""

    name: str | None = None
    file: str | None = None
    environment: str | None = None
    content: str | None = None
    external: bool = False
    labels: StrMap = Field(default_factory=dict)
    driver: str | None = None
    template_driver: str | None = None



class ImageDef(_Model):
    """An ``images:`` recipe as written (``recipes.py`` turns the raw dict into a Recipe)."""

    from_: str | None = Field(default=None, alias="from")
    steps: tuple[dict[str, Any], ...] = ()
    context: str | None = None
    dockerfile: str | None = None
    workdir: str | None = None
    cmd: Any = None
    entrypoint: Any = None
    env: StrMap = Field(default_factory=dict)
    user: str | None = None
    labels: StrMap = Field(default_factory=dict)
    ignore: StrTuple = ()



class Stack(_Model):
    """The whole typed stack. Mappings are keyed by the names used in the file."""

    name: str
    services: dict[str, Service] = Field(default_factory=dict)
    networks: dict[str, Network] = Field(default_factory=dict)
    volumes: dict[str, Volume] = Field(default_factory=dict)
    secrets: dict[str, TopLevelFile] = Field(default_factory=dict)
    configs: dict[str, TopLevelFile] = Field(default_factory=dict)
    images: dict[str, ImageDef] = Field(default_factory=dict)
    models: dict[str, Any] = Field(default_factory=dict)
    working_dir: str | None = None

    def service(self, name: str) -> Service:
        """The named service or a :class:`~stackfile.errors.NotFound` listing the valid ones."""
        from stackfile.errors import NotFound

        try:
            return self.services[name]
        except KeyError:
            valid = ", ".join(sorted(self.services)) or "(none)"
            raise NotFound(f"no such service: {name}", hint=f"services are: {valid}") from None

    def service_names(self) -> list[str]:
        return sorted(self.services)


# ---------------------------------------------------------------------------------------- build


def _prepare(config: Mapping[str, Any]) -> dict[str, Any]:
    data = dict(config)
    for section in ("services", "networks", "volumes", "secrets", "configs", "images", "models"):
        if data.get(section) is None:
            data.pop(section, None)
        elif isinstance(data[section], Mapping):
            data[section] = {k: ({} if v is None else v) for k, v in data[section].items()}
    services = data.get("services")
    if isinstance(services, dict):
        data["services"] = {k: {**v, "name": k} if isinstance(v, Mapping) else v
                            for k, v in services.items()}
    data.setdefault("name", "")
    return data


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def build_stack(config: Mapping[str, Any]) -> Stack:
    """Type the loader's canonical dict. Bad values raise InvalidSpec naming the key path."""
    try:
        return Stack.model_validate(_prepare(config))
    except ModelError as exc:
        (loc, msg, value), *rest = exc.errors
        path = _key_path(loc)
        detail = "\n".join(f"{_key_path(e[0])}: {e[1]}" for e in rest[:5]) or None
        raise InvalidSpec(f"{msg} (got {value!r})",
                          location=Location(key_path=path), detail=detail,
                          hint="check the value's type against the Compose specification") from None
    except InvalidSpec:
        raise
