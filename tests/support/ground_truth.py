"""Checks against an outside reference: Docker itself, or an external Compose conformance corpus.

A test marked ``@pytest.mark.ground_truth("docker")`` or ``("corpus")`` compares stackfile with
that reference. When the reference is absent (no Docker daemon with a ``busybox`` image; no
``--corpus DIR`` given) the test is deselected, never skipped quietly: the run's summary says how
many checks of each reference ran, how they ended, and why the others did not run.

Loaded as a plugin from ``tests/conftest.py``.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

SOURCES = ("docker", "corpus")
_REASONS = pytest.StashKey[dict[str, str]]()
_NOT_RUN = pytest.StashKey[Counter[str]]()
_OUTCOMES = pytest.StashKey[dict[str, Counter[str]]]()


def docker_cli() -> str | None:
    """The Docker CLI to compare with: Debian's ``/usr/bin/docker`` first (a stray newer client in
    /usr/local/bin may not speak to the installed daemon), else the one on PATH."""
    return "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker")


@functools.cache
def docker_unavailable() -> str | None:
    """Why Docker cannot serve as ground truth here, or None when it can."""
    cli = docker_cli()
    if cli is None:
        return "no docker CLI"
    probe = subprocess.run([cli, "image", "inspect", "busybox"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return f"no Docker daemon with a busybox image ({last})"
    return None


def corpus_unavailable(config: pytest.Config) -> str | None:
    """Why the conformance corpus cannot be used, or None when ``--corpus`` names one."""
    corpus = config.getoption("corpus")
    if not corpus:
        return "no --corpus DIR given"
    if not (Path(corpus) / "run.py").is_file():
        return f"--corpus {corpus} has no run.py"
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--corpus",
        metavar="DIR",
        default=None,
        help="an external Compose conformance corpus (valid/, invalid/, run.py) to score stackfile against",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ground_truth(source): compares with an outside reference, 'docker' or 'corpus'; "
        "deselected (and counted in the summary) when that reference is absent",
    )
    if config.option.corpus:  # tests change directory; a relative --corpus must not move with them
        config.option.corpus = str(Path(config.option.corpus).resolve())
    config.stash[_REASONS] = {}
    config.stash[_NOT_RUN] = Counter()
    config.stash[_OUTCOMES] = {s: Counter() for s in SOURCES}


def _source(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("ground_truth")
    if marker is None:
        return None
    source = str(marker.args[0])
    if source not in SOURCES:
        raise pytest.UsageError(f"{item.nodeid}: ground_truth source is one of {SOURCES}, not {source!r}")
    return source


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reasons = config.stash[_REASONS]
    not_run = config.stash[_NOT_RUN]
    keep, drop = [], []
    for item in items:
        source = _source(item)
        if source is not None and source not in reasons:
            reason = docker_unavailable() if source == "docker" else corpus_unavailable(config)
            reasons[source] = reason or ""
        if source is not None and reasons[source]:
            drop.append(item)
            not_run[source] += 1
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    source = _source(item)
    report = outcome.get_result()
    if source is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        item.config.stash[_OUTCOMES][source][report.outcome] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    reasons = config.stash[_REASONS]
    not_run = config.stash[_NOT_RUN]
    outcomes = config.stash[_OUTCOMES]
    lines = []
    for source in SOURCES:
        ran = outcomes[source]
        parts = []
        if ran:
            counts = ", ".join(f"{n} {k}" for k, n in sorted(ran.items()))
            parts.append(f"{sum(ran.values())} ran ({counts})")
        if not_run[source]:
            parts.append(f"{not_run[source]} not run: {reasons.get(source) or '?'}")
        if parts:
            lines.append(f"  {source}: " + "; ".join(parts))
    if lines:
        terminalreporter.write_sep("=", "ground-truth checks")
        for line in lines:
            terminalreporter.write_line(line)
