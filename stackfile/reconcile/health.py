"""Healthchecks: configuration, the probe schedule, and the health record other processes read.

Design: after the engine starts a container that has a healthcheck (the service's, else the
image's ``HEALTHCHECK``), it spawns a small detached monitor process
(``python -m stackfile.reconcile.health_main``) that survives the CLI. The monitor runs the test
through ``Runtime.exec`` on Docker's schedule and atomically rewrites
``<store>/projects/<project>/health/<container id>.json`` after every probe; ``ps``, ``up --wait``
and ``depends_on: service_healthy`` read that file. The monitor exits when the container stops
(the engine starts a new one with the container). To turn healthy quickly it probes early, before
Docker's first probe, with a back-off (0.1 s, 0.2 s, 0.4 s, ...) whose failures do not count; the
counted probes keep Docker's times (:class:`ProbeTimes`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stackfile.reconcile.desired import get

__all__ = ["HealthConfig", "HealthRecord", "Probe", "health_config", "read_health", "write_health"]

NS = 1_000_000_000


@dataclass(frozen=True)
class HealthConfig:
    """A healthcheck in seconds; ``argv`` is what is executed in the container."""

    argv: tuple[str, ...]
    interval: float = 30.0
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0
    start_interval: float = 5.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HealthConfig:
        data = json.loads(text)
        data["argv"] = tuple(data["argv"])
        return cls(**data)


def _argv(test: Any) -> tuple[str, ...] | None:
    if isinstance(test, str):
        return ("/bin/sh", "-c", test)
    items = [str(t) for t in test or ()]
    if not items or items[0] == "NONE":
        return None
    if items[0] == "CMD-SHELL":
        return ("/bin/sh", "-c", " ".join(items[1:]))
    if items[0] == "CMD":
        return tuple(items[1:]) or None
    return tuple(items)


def _seconds(value: Any, default: float) -> float:
    if value is None or value == "":
        return default
    from stackfile.spec.units import parse_duration

    return parse_duration(value) / NS


def health_config(service_check: Any, image_config: Mapping[str, Any] | None = None) -> HealthConfig | None:
    """The effective healthcheck: the service's fields over the image's; None when there is none."""
    image = dict((image_config or {}).get("Healthcheck") or {})
    if service_check is not None and get(service_check, "disable", False):
        return None
    test = get(service_check, "test") if service_check is not None else None
    argv = _argv(test if test is not None else image.get("Test"))
    if argv is None:
        return None

    def pick(key: str, image_key: str, default: float) -> float:
        value = get(service_check, key) if service_check is not None else None
        if value is not None:
            return _seconds(value, default)
        ns = image.get(image_key)
        return ns / NS if ns else default

    retries = get(service_check, "retries") if service_check is not None else None
    return HealthConfig(
        argv=argv,
        interval=pick("interval", "Interval", 30.0),
        timeout=pick("timeout", "Timeout", 30.0),
        retries=int(retries if retries is not None else image.get("Retries") or 3),
        start_period=pick("start_period", "StartPeriod", 0.0),
        start_interval=pick("start_interval", "StartInterval", 5.0),
    )


@dataclass(frozen=True)
class Probe:
    """One probe's outcome (Docker's ``State.Health.Log`` entries)."""

    start: float
    end: float
    exit_code: int
    output: str


@dataclass
class HealthRecord:
    """What ``ps`` shows: status ``starting``/``healthy``/``unhealthy``, the streak and last probes."""

    status: str = "starting"
    failing_streak: int = 0
    log: list[Probe] = field(default_factory=list)
    monitor_pid: int = 0
    container_pid: int = 0

    def record(self, probe: Probe, config: HealthConfig, counts: bool, keep: int = 5) -> None:
        """Fold one probe in: success -> healthy; ``retries`` counted failures in a row -> unhealthy."""
        self.log = [*self.log, probe][-keep:]
        if probe.exit_code == 0:
            self.status, self.failing_streak = "healthy", 0
        elif counts:
            self.failing_streak += 1
            if self.failing_streak >= config.retries:
                self.status = "unhealthy"

    @property
    def last_output(self) -> str:
        return self.log[-1].output if self.log else ""


def write_health(path: Path, record: HealthRecord) -> None:
    """Atomically replace the record file (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(asdict(record), sort_keys=True))
    os.replace(tmp, path)


def read_health(path: Path) -> HealthRecord | None:
    """The record at ``path``, or None when there is none (no healthcheck or not started yet)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    data["log"] = [Probe(**p) for p in data.get("log", [])]
    return HealthRecord(**data)


class ProbeTimes:
    """When to probe. Docker's schedule: every ``start_interval`` during ``start_period`` (failures
    do not count), then every ``interval`` (they do), so ``retries`` failures make a container
    unhealthy exactly when Docker says so. Before Docker's first probe, early probes (0.1 s after
    the start, the gap doubling, until one passes) never count a failure: they only let a container
    be healthy sooner than Docker's first probe would."""

    def __init__(self, config: HealthConfig, started: float) -> None:
        self.config, self.started = config, started
        self.regular = self.first = started + self._gap(started)
        self.early_gap = 0.1
        self.early = started + self.early_gap

    def _in_start(self, at: float) -> bool:
        return at - self.started < self.config.start_period

    def _gap(self, at: float) -> float:
        return self.config.start_interval if self._in_start(at) else self.config.interval

    def next(self, healthy: bool, now: float) -> tuple[float, bool]:
        """``(when, counts)`` of the next probe, given whether the container is healthy now; a
        probe that overran its slot moves the next one to ``now`` plus the gap."""
        if not healthy and self.early < self.first:
            at = self.early
            self.early_gap *= 2
            self.early = at + self.early_gap
            return at, False
        at = self.regular
        self.regular = max(at, now) + self._gap(at)
        return at, not self._in_start(at)


def monotonic() -> float:
    return time.monotonic()
