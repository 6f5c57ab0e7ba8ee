"""The options of ``container run`` and its result, shared by the click command and the fast path.

Records (:mod:`stackfile.record`): a frozen dataclass of 34 fields cost ~3 ms to define, and a
NamedTuple needs ``typing`` (~3 ms to import); a record compiles nothing.
"""

from __future__ import annotations

from stackfile.record import Record

__all__ = ["RunOptions", "RunResult"]


class RunOptions(Record):
    """``container run`` flags, as given (strings are parsed by
    :func:`stackfile.engine.containers.build_spec`)."""

    image: str
    command: tuple[str, ...] = ()
    entrypoint: str | None = None
    name: str = ""
    env: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    memory: str | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    hostname: str = ""
    user: str | None = None
    workdir: str | None = None
    interactive: bool = False
    tty: bool = False
    network: str = "none"
    init: bool = False
    read_only: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    labels: tuple[str, ...] = ()
    restart: str = "no"
    rm: bool = False
    detach: bool = False
    volumes: tuple[str, ...] = ()  # HOST:CONTAINER[:ro|rw] binds
    tmpfs: tuple[str, ...] = ()  # /path[:size=64m,mode=1777]
    sysctls: tuple[str, ...] = ()  # key=value
    ulimits: tuple[str, ...] = ()  # name=soft[:hard]
    shm_size: str | None = None
    memory_swap: str | None = None
    cpu_shares: int | None = None
    stop_signal: str | None = None
    stop_timeout: float | None = None
    security_opt: tuple[str, ...] = ()  # seccomp=unconfined | no-new-privileges (the default)


class RunResult(Record):
    """The container's id, and its exit code when it ran in the foreground."""

    id: str
    exit_code: int | None = None
