"""``stackfile system check``: verify a store root against its records, the kernel and live processes.

Each area (:mod:`.store`, :mod:`.containers`, :mod:`.networks`, :mod:`.volumes`, :mod:`.host`) is a
function ``paths -> list[Finding]`` that only reads. A finding says what is wrong and, when it can
be fixed, carries the fix; :func:`check` with ``repair`` runs the fixes and checks again, so the
report ends with what is still wrong. The store is sound when nothing is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from stackfile.errors import StackfileError
from stackfile.store.paths import StorePaths

__all__ = ["CheckReport", "Finding", "check"]

ROUNDS = 3


class Finding(NamedTuple):
    """One problem: the area, the object (id or name), what is wrong, what ``--repair`` does."""

    area: str
    subject: str
    problem: str
    repair: str = ""  # "" when it cannot be repaired here (then the hint says what to do)
    fix: Callable[[], object] | None = None
    hint: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"area": self.area, "object": self.subject, "problem": self.problem}
        if self.repair:
            out["repair"] = self.repair
        if self.hint:
            out["hint"] = self.hint
        return out


class CheckReport(NamedTuple):
    """Problems found (after repairs, those left), repairs done and repairs that failed."""

    findings: list[Finding]
    repaired: list[Finding]
    failed: list[tuple[Finding, str]]

    @property
    def sound(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "sound": self.sound,
            "problems": [f.to_dict() for f in self.findings],
            "repaired": [f.to_dict() for f in self.repaired],
            "repair_failed": [{**f.to_dict(), "error": e} for f, e in self.failed],
        }


def _areas() -> list[Callable[[StorePaths], list[Finding]]]:
    from stackfile.engine.check import containers, host, networks, store, volumes

    return [store.check, containers.check, networks.check, volumes.check, host.check]


def _all(paths: StorePaths) -> list[Finding]:
    out: list[Finding] = []
    for area in _areas():
        out += area(paths)
    return out


def check(paths: StorePaths, *, repair: bool = False) -> CheckReport:
    """Check the store at ``paths``; with ``repair`` fix what can be fixed, then check again."""
    if not paths.root.is_dir():
        return CheckReport([], [], [])
    findings = _all(paths)
    if not repair or not any(f.fix for f in findings):
        return CheckReport(findings, [], [])
    repaired: list[Finding] = []
    failed: list[tuple[Finding, str]] = []
    for _ in range(ROUNDS):  # a repair can uncover more (a corrupt blob deleted: its image is broken)
        tried = {f[:3] for f in repaired}
        fixable = [f for f in findings if f.fix is not None and f[:3] not in tried]
        if not fixable:
            break
        for finding in fixable:
            fix = finding.fix
            assert fix is not None
            try:
                fix()
            except (StackfileError, OSError) as exc:
                failed.append((finding, str(exc)))
            else:
                repaired.append(finding)
        findings = _all(paths)
        if failed:
            break
    return CheckReport(findings, repaired, failed)
