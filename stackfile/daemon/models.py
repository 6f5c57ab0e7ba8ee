"""The API's typed requests and results (pydantic): validated on the way in, and the source of the
OpenAPI document. The daemon pays pydantic's import once; the CLI never imports this module."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ContainerRunRequest", "ContainerRunResult", "ContainerSummary", "DownRequest", "Error", "Event",
    "ExecRequest", "ImageSummary", "Info", "LogLine", "ProjectLogLine", "ProjectUpload", "PsRow", "RefResult",
    "UpRequest", "Version", "WaitResult",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Error(_Model):
    """Every error answer: the ``stackfile.errors`` category as ``kind`` (400 invalid-spec, 403
    permission, 404 not-found, 409 conflict, 503 unavailable; 500 internal is a bug)."""

    message: str
    kind: Literal["invalid-spec", "not-found", "conflict", "unavailable", "permission", "internal"]
    location: str | None = None
    hint: str | None = None
    exit_code: int | None = None  # the CLI's exit code for this error (125-127 for a failed start)


class Version(_Model):
    """``GET /v1/version``."""

    version: str
    api_version: str
    python: str
    os: str
    arch: str


class Info(_Model):
    """``GET /v1/info``: the store root and what it holds."""

    root: str
    containers: int
    containers_running: int
    images: int
    kernel: str
    cgroup: str
    pid: int


class ContainerSummary(_Model):
    """One container, the fields ``container ls --format json`` prints."""

    Id: str
    Name: str
    Image: str
    Command: list[str]
    State: str
    Pid: int | None = None
    ExitCode: int | None = None
    OOMKilled: bool = False
    Created: str | None = None
    StartedAt: str | None = None
    FinishedAt: str | None = None
    RestartCount: int = 0
    Labels: dict[str, str] = Field(default_factory=dict)
    Error: str | None = None


class ContainerRunRequest(_Model):
    """``container run``'s flags as given (the client resolves ``-e KEY`` and env files itself)."""

    image: str = Field(min_length=1)
    command: list[str] = Field(default_factory=list)
    entrypoint: str | None = None
    name: str = ""
    env: list[str] = Field(default_factory=list)
    memory: str | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    hostname: str = ""
    user: str | None = None
    workdir: str | None = None
    tty: bool = False
    network: Literal["none", "host"] = "none"
    init: bool = False
    read_only: bool = False
    cap_add: list[str] = Field(default_factory=list)
    cap_drop: list[str] = Field(default_factory=list)
    privileged: bool = False
    labels: list[str] = Field(default_factory=list)
    restart: str = "no"
    rm: bool = False
    volumes: list[str] = Field(default_factory=list)
    tmpfs: list[str] = Field(default_factory=list)
    sysctls: list[str] = Field(default_factory=list)
    ulimits: list[str] = Field(default_factory=list)
    shm_size: str | None = None
    memory_swap: str | None = None
    cpu_shares: int | None = None
    stop_signal: str | None = None
    stop_timeout: float | None = None
    security_opt: list[str] = Field(default_factory=list)


class ContainerRunResult(_Model):
    """The new container's id (it runs detached; attach with logs + wait)."""

    Id: str


class RefResult(_Model):
    """The reference a stop/kill/rm acted on."""

    ref: str


class WaitResult(_Model):
    """The container's exit code once it stopped."""

    StatusCode: int


class LogLine(_Model):
    """One container log line (a JSON line of a logs stream)."""

    time: str
    stream: Literal["stdout", "stderr"]
    text: str


class ImageSummary(_Model):
    """One image of the store."""

    Id: str
    ShortId: str
    Names: list[str]
    Created: str
    Size: int


class ProjectUpload(_Model):
    """``PUT /v1/projects/{name}``: the resolved project (``config --format json`` of the client),
    the client's working directory it was resolved in, and the files of that directory the daemon
    needs (a gzipped tar, base64), which the daemon unpacks and points the project at."""

    config: dict[str, Any]
    working_dir: str = Field(min_length=1)
    files_tar_gz_b64: str = ""


class UpRequest(_Model):
    """``up -d``'s flags."""

    services: list[str] = Field(default_factory=list)
    wait: bool = False
    wait_timeout: float | None = None
    timeout: float | None = None
    build: bool = False
    no_build: bool = False
    force_recreate: bool = False
    no_recreate: bool = False
    no_deps: bool = False
    no_start: bool = False
    remove_orphans: bool = False


class ExecRequest(_Model):
    """``exec -T``: a command in a running container of a service (no stdin, no tty)."""

    service: str = Field(min_length=1)
    command: list[str] = Field(min_length=1)
    index: int = Field(default=1, ge=1)
    user: str = ""
    workdir: str = ""
    env: dict[str, str] = Field(default_factory=dict)
    privileged: bool = False


class DownRequest(_Model):
    """``down``'s flags."""

    volumes: bool = False
    remove_orphans: bool = False
    timeout: float | None = None
    rmi: Literal["", "local", "all"] = ""


class ActionInfo(_Model):
    kind: str
    target: str
    name: str = ""


class Event(_Model):
    """One progress event of a project operation (a JSON line); the last line of a stream is
    either ``{"kind": "done"}`` or ``{"kind": "error", "error": {...}}``."""

    kind: str
    message: str = ""
    elapsed: float | None = None
    action: ActionInfo | None = None
    error: Error | None = None


class PsRow(_Model):
    """One row of ``ps --format json``."""

    model_config = ConfigDict(extra="allow", frozen=True)
    ID: str
    Name: str
    Service: str
    State: str


class ProjectLogLine(_Model):
    """One project log line (a JSON line of ``GET /v1/projects/{name}/logs``)."""

    container: str
    service: str
    time: str
    stream: str
    text: str
    project: str = ""
