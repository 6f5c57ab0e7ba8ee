"""What the runtime is asked to run, and the operations it offers.

The runtime runs one container on this host. It never sees a stack spec: callers (the builder,
the reconciler, the ``container`` CLI through the engine) translate what they know into a
:class:`ContainerSpec`. Words used here:

- *layers*: read-only directories stacked as overlay lower dirs, **top layer first** (the order
  of overlay's ``lowerdir=``). The runtime adds a private upper and work dir per container under
  ``<store root>/containers/<id>/``; :meth:`Runtime.upper_dir` tells callers (the builder turns a
  finished RUN container's upper dir into a new layer by renaming it).
- *network*: ``none`` (a fresh empty net namespace, only ``lo``), ``host`` (the host's), or
  ``path`` (join the namespace bind-mounted at ``netns_path``; the network package makes it before
  the container starts, the CNI order), or ``container`` (join another container's namespace).
- *state*: ``created`` → ``running`` ⇄ ``paused`` → ``exited``; ``dead`` when the shim that
  supervised a running container is gone.

The value types are immutable records (:mod:`stackfile.record`; neither frozen dataclasses,
whose definition execs every generated method, nor NamedTuples, which need ``typing`` at run time):
defining them costs next to nothing on ``container run``. Change one with
``value._replace(field=...)``; :func:`to_plain` turns one into JSON-able dicts and lists (what
``dataclasses.asdict`` gave). Mapping defaults are shared: never mutate a value's mappings in place.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Mapping

from stackfile.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, Literal, Protocol
else:
    Protocol = object  # Runtime is only ever used as a type

__all__ = [
    "TMPFS_OPTIONS_HINT",
    "ContainerSpec",
    "ContainerState",
    "ContainerStatus",
    "ExecSpec",
    "LogLine",
    "Mount",
    "NetworkAttachment",
    "Process",
    "Resources",
    "RestartPolicy",
    "Runtime",
    "Usage",
    "to_plain",
]


class Process(Record):
    """The command to run and how: argv, environment, working dir, user (name or uid[:gid])."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = {}
    cwd: str = "/"
    user: str = ""  # "", "root", "1000", "app", "app:staff", "1000:1000"
    additional_groups: tuple[str, ...] = ()
    tty: bool = False
    stdin_open: bool = False


class Mount(Record):
    """One mount inside the container.

    ``type`` is ``bind`` (source is a host path), ``tmpfs`` (source ignored) or ``volume``
    (source is the volume's host data directory, mounted like a bind). ``subpath`` names a
    directory inside ``source`` to mount instead; the runtime resolves it inside ``source`` when
    it mounts, so a container writing to the volume cannot point it at the host meanwhile.
    """

    type: Literal["bind", "tmpfs", "volume"]
    target: str
    source: str = ""
    read_only: bool = False
    propagation: str = ""  # "", "private", "rprivate", "shared", "rshared", "slave", "rslave"
    tmpfs_size: int | None = None  # bytes
    tmpfs_mode: int | None = None
    options: tuple[str, ...] = ()
    subpath: str = ""


_TMPFS_FLAGS = ("dev", "exec", "nodev", "noexec", "nosuid", "ro", "rw", "suid")
TMPFS_OPTIONS_HINT = "size=, mode= and the flags " + ", ".join(_TMPFS_FLAGS)


def split_tmpfs_options(text: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """``size=1m,mode=700,exec,ro`` as ({"size": "1m", "mode": "700"}, ("exec", "ro")); a tmpfs
    is ``nosuid,nodev,noexec`` (Docker's defaults) unless ``suid``/``dev``/``exec`` is given.
    Raises ValueError naming an unknown option."""
    values: dict[str, str] = {}
    flags = []
    for option in (o.strip() for o in text.split(",")):
        key, sep, value = option.partition("=")
        if sep and key in ("size", "mode"):
            values[key] = value
        elif not sep and option in _TMPFS_FLAGS:
            flags.append(option)
        elif option:
            raise ValueError(f"unknown tmpfs option {option!r}")
    return values, tuple(flags)


class Resources(Record):
    """cgroup limits; None means unlimited / the kernel default."""

    memory: int | None = None  # bytes
    memory_swap: int | None = None  # bytes, memory + swap; -1 unlimited
    memory_reservation: int | None = None
    cpus: float | None = None  # CFS quota in CPUs (0.5 = half a core)
    cpu_shares: int | None = None
    pids_limit: int | None = None


class RestartPolicy(Record):
    """``no``, ``always``, ``on-failure`` (with ``max_retries``; 0 = unlimited) or ``unless-stopped``."""

    name: Literal["no", "always", "on-failure", "unless-stopped"] = "no"
    max_retries: int = 0


class NetworkAttachment(Record):
    """Which network namespace the container lives in (see the module doc)."""

    mode: Literal["none", "host", "path", "container"] = "none"
    netns_path: str = ""  # mode "path": a bind-mounted netns file
    container_id: str = ""  # mode "container"


class ContainerSpec(Record):
    """Everything the runtime needs to create one container."""

    name: str
    layers: tuple[str, ...]  # absolute host paths, top layer first
    process: Process
    hostname: str = ""
    domainname: str = ""
    mounts: tuple[Mount, ...] = ()
    resources: Resources = Resources()
    network: NetworkAttachment = NetworkAttachment()
    # /etc/hosts and /etc/resolv.conf contents; None = a default (localhost + hostname / host's).
    # The runtime writes them to containers/<id>/{hosts,resolv.conf} and bind-mounts them, so the
    # network package can later rewrite them in place to keep service discovery current.
    etc_hosts: str | None = None
    resolv_conf: str | None = None
    restart: RestartPolicy = RestartPolicy()
    stop_signal: str = "SIGTERM"
    stop_grace_seconds: float = 10.0
    labels: Mapping[str, str] = {}
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    read_only: bool = False
    init: bool = False
    sysctls: Mapping[str, str] = {}
    ulimits: Mapping[str, tuple[int, int]] = {}  # name -> (soft, hard)
    shm_size: int | None = None
    # Pass the container's stdio through instead of logging it (``container run`` without -d).
    # Only honoured by Runtime.run_attached.
    auto_remove: bool = False
    # The runtime's default seccomp filter; False = unconfined (privileged is always unconfined).
    seccomp: bool = True
    # A command the supervisor starts (detached, on the host) when the container has exited by
    # itself for good: no stop or removal asked for it and the restart policy lets it stay down.
    # The engine frees the container's published ports this way, as Docker does when one dies.
    on_exit: tuple[str, ...] = ()


class ExecSpec(Record):
    """A process to start inside a running container."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = {}
    cwd: str = ""  # "" = the container's working dir
    user: str = ""  # "" = the container's user
    tty: bool = False
    stdin_open: bool = False
    privileged: bool = False
    detach: bool = False  # start it in the background and return 0 at once (``exec -d``)


def to_plain(value: Any) -> Any:
    """A copy of ``value`` with records turned into dicts, recursively, as ``dataclasses.asdict``
    did: tuples stay tuples (JSON writes them as lists), mappings become dicts."""
    if isinstance(value, Record):
        return {name: to_plain(item) for name, item in value._asdict().items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, tuple):
        items = [to_plain(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, Mapping):
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    return value


class ContainerState(enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    EXITED = "exited"
    DEAD = "dead"


class ContainerStatus(Record):
    """What ``inspect``/``ls`` report about one container."""

    id: str
    name: str
    state: ContainerState
    pid: int | None  # host pid of the container's PID 1 while running
    exit_code: int | None
    oom_killed: bool
    created_at: str  # RFC 3339, UTC
    started_at: str | None
    finished_at: str | None
    restart_count: int
    labels: Mapping[str, str]
    image: str = ""
    command: tuple[str, ...] = ()
    error: str = ""


class Usage(Record):
    """One sample of what a running container uses of the host, in bytes and ns (read as Docker
    reads them: :mod:`stackfile.runtime.linux.usage`)."""

    cpu_ns: int
    system_ns: int  # the host's CPU time, all CPUs, at the same moment
    online_cpus: int
    memory: int
    memory_limit: int
    block_read: int
    block_write: int
    pids: int
    net_rx: int
    net_tx: int


class LogLine(Record):
    """One line of a container's output: stream is ``stdout`` or ``stderr``."""

    time: str  # RFC 3339 with nanoseconds, UTC
    stream: Literal["stdout", "stderr"]
    text: str


class Runtime(Protocol):
    """Container lifecycle on one host. Ids are 64 hex chars; names and short ids resolve too."""

    def create(self, spec: ContainerSpec, *, image: str = "", container_id: str = "") -> str:
        """Prepare the container's directories and config; nothing runs yet. Returns the id
        (``container_id`` when given: 64 hex digits the caller chose, e.g. for the hostname)."""

    def start(self, ref: str) -> None:
        """Start the container under a detached supervisor (shim); returns once PID 1 is running."""

    def run_attached(self, spec: ContainerSpec, *, image: str = "", container_id: str = "",
                     stdio: tuple[int, int, int] | None = None) -> int:
        """Create, start and wait with the container's stdio on the caller's (or on the ``stdio``
        descriptors: a daemon's pipes; no tty, no signal forwarding); returns the exit code."""

    def stop(self, ref: str, timeout: float | None = None) -> None:
        """Stop signal, wait up to ``timeout`` (default: the spec's grace), then SIGKILL."""

    def kill(self, ref: str, signal: str = "SIGKILL") -> None: ...

    def restart(self, ref: str, timeout: float | None = None) -> None: ...

    def pause(self, ref: str) -> None: ...

    def unpause(self, ref: str) -> None: ...

    def wait(self, ref: str, timeout: float | None = None) -> int:
        """Block until the container exits (and is not restarted); returns its exit code."""

    def remove(self, ref: str, *, force: bool = False) -> None:
        """Remove a stopped container (``force`` kills it first): nothing is left behind."""

    def update(self, ref: str, resources: Resources, restart: RestartPolicy | None = None) -> None:
        """Replace the container's limits (``container update``): recorded for every later
        start, and written to a running container's cgroup at once; ``restart`` replaces the
        restart policy (from the container's next exit on)."""

    def rename(self, ref: str, name: str, *, network: NetworkAttachment | None = None,
               on_exit: tuple[str, ...] | None = None) -> None:
        """Give the container a new name (a Conflict if another container has it); ``network``
        and ``on_exit``, when given, replace the spec's (what the caller keyed by the name)."""

    def set_etc_hosts(self, ref: str, text: str) -> None:
        """Replace the container's ``/etc/hosts`` now and for every later start."""

    def open_stdin(self, ref: str) -> int | None:
        """A write fd on the running container's standard input (``attach``); None when it was
        created without ``stdin_open``."""

    def exec(self, ref: str, spec: ExecSpec, stdio: tuple[int, int, int] | None = None) -> int:
        """Run a process in the container's namespaces and cgroups on the caller's stdio (or the
        ``stdio`` descriptors: a daemon's pipes); returns its exit code."""

    def logs(
        self,
        ref: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        since: str | None = None,
    ) -> Iterator[LogLine]: ...

    def inspect(self, ref: str) -> ContainerStatus: ...

    def spec_of(self, ref: str) -> ContainerSpec: ...

    def list(
        self, *, all: bool = False, labels: Mapping[str, str] | None = None
    ) -> builtins.list[ContainerStatus]: ...

    def top(self, ref: str) -> builtins.list[dict[str, str]]:
        """The container's processes (PID, USER, TIME, CMD), host pids."""

    def usage(self, ref: str) -> Usage:
        """A sample of what the running container uses: CPU time, memory, block and network I/O,
        tasks. Two samples give the CPU %."""

    def upper_dir(self, ref: str) -> str:
        """Host path of the container's overlay upper dir (its writes)."""

    def rootfs_path(self, ref: str) -> str:
        """Host path through which the running container's root filesystem can be read and written
        (``/proc/<pid>/root``); used by watch's sync."""
