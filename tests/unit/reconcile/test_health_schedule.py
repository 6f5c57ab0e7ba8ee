"""The health probe schedule: Docker's counted probes at its times, early probes only before them."""

from __future__ import annotations

from stackfile.reconcile.health import HealthConfig, HealthRecord, Probe, ProbeTimes


def run(config: HealthConfig, passes_from: float, until: float) -> tuple[list[tuple[float, bool]], list[str]]:
    """Probe on the schedule against a check that passes from ``passes_from`` seconds on (never if
    negative); returns the (time, counts) of each probe and the status after each."""
    times, record = ProbeTimes(config, 0.0), HealthRecord()
    probes: list[tuple[float, bool]] = []
    statuses: list[str] = []
    while True:
        at, counts = times.next(record.status == "healthy", probes[-1][0] if probes else 0.0)
        if at > until:
            return probes, statuses
        ok = 0 <= passes_from <= at
        record.record(Probe(at, at, 0 if ok else 1, ""), config, counts)
        probes.append((round(at, 3), counts))
        statuses.append(record.status)


def test_a_failing_check_is_unhealthy_when_docker_says_so() -> None:
    """interval 1 s, retries 2: Docker counts the probes at 1 s and 2 s, so unhealthy at 2 s; the
    early probes before 1 s do not count."""
    probes, statuses = run(HealthConfig(argv=("true",), interval=1.0, retries=2), -1, 3.0)
    assert probes == [(0.1, False), (0.3, False), (0.7, False), (1.0, True), (2.0, True), (3.0, True)]
    assert statuses[:4] == ["starting"] * 4 and statuses[4:] == ["unhealthy", "unhealthy"]


def test_early_probes_make_a_passing_check_healthy_sooner_and_then_stop() -> None:
    probes, statuses = run(HealthConfig(argv=("true",), interval=30.0), 0.25, 65.0)
    assert probes == [(0.1, False), (0.3, False), (30.0, True), (60.0, True)]
    assert statuses == ["starting", "healthy", "healthy", "healthy"]


def test_start_period_probes_every_start_interval_without_counting() -> None:
    config = HealthConfig(argv=("true",), interval=10.0, retries=1, start_period=3.0, start_interval=1.0)
    probes, statuses = run(config, -1, 13.5)
    regular = [p for p in probes if p[0] >= 1.0]
    assert regular == [(1.0, False), (2.0, False), (3.0, True), (13.0, True)]
    assert statuses[-2:] == ["unhealthy", "unhealthy"]
