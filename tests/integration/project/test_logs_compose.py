"""``logs`` as Compose: without ``-f`` grouped per container (not interleaved by time), ``--until``,
and a bad ``--since``/``--until`` is Compose's clear error (it was ``internal error: ValueError``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.conftest import needs_root
from tests.integration.project.conftest import Project
from tests.integration.project.test_up_attached import said

pytestmark = needs_root

STACK = """\
services:
  a:
    image: busybox
    command: ["sh", "-c", "for i in 1 2 3; do echo a$$i; sleep 0.3; done"]
  b:
    image: busybox
    command: ["sh", "-c", "sleep 0.15; for i in 1 2 3; do echo b$$i; sleep 0.3; done"]
"""


def _finished(project: Project) -> None:
    project.write(STACK)
    project.sf("up", "-d")
    deadline = time.monotonic() + 30
    while {row["State"] for row in project.ps().values()} != {"exited"}:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_logs_are_grouped_per_container_and_cut_by_until(project: Project) -> None:
    _finished(project)
    lines = said(project.sf("logs", "--no-color").stdout)
    assert lines == ["a-1 | a1", "a-1 | a2", "a-1 | a3", "b-1 | b1", "b-1 | b2", "b-1 | b3"]
    stamped = [line.split(" | ", 1) for line in said(project.sf("logs", "--no-color", "-t").stdout)]
    timed = [(name, *text.split(" ", 1)) for name, text in stamped]  # (container, time, text)
    a2_time = next(t for _, t, text in timed if text == "a2")

    def expected(keep: Callable[[str], bool]) -> list[str]:  # grouped per container, each in its order
        return [f"{name} | {text}" for name, t, text in timed if keep(t)]

    until = said(project.sf("logs", "--no-color", "--until", a2_time).stdout)
    assert until == expected(lambda t: t <= a2_time) and "a-1 | a3" not in until
    since = said(project.sf("logs", "--no-color", "--since", a2_time, "--until", "0s").stdout)
    assert since == expected(lambda t: t >= a2_time) and "a-1 | a1" not in since
    assert project.sf("logs", "--until", "1h").stdout == ""  # everything is newer than an hour ago


def test_a_bad_since_or_until_is_a_clear_error(project: Project) -> None:
    _finished(project)
    for flag in ("since", "until"):
        proc = project.sf("logs", f"--{flag}", "garbage", check=False)
        assert proc.returncode != 0 and "internal error" not in proc.stderr
        message = f'invalid value for "{flag}": failed to parse value as time or duration: "garbage"'
        assert message in proc.stderr
