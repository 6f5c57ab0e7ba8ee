"""A real :class:`~stackfile.watch.actions.ActionTarget` for tests: directories stand in for
container roots, a real ``sleep`` process per service is what ``restart`` restarts."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from stackfile.watch.rules import WatchRule


class DirTarget:
    """Roots are real directories; restart replaces a real process; rebuild and exec run commands."""

    def __init__(self, roots: dict[str, Path], processes: tuple[str, ...] = ()) -> None:
        self._roots = roots
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.procs: dict[str, subprocess.Popen[bytes]] = {s: self._spawn() for s in processes}

    @staticmethod
    def _spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(["sleep", "300"])

    def _record(self, what: str, service: str) -> None:
        with self._lock:
            self.calls.append((what, service))

    def count(self, what: str, service: str) -> int:
        with self._lock:
            return self.calls.count((what, service))

    def roots(self, service: str) -> list[str]:
        root = self._roots.get(service)
        return [str(root)] if root is not None else []

    def restart(self, service: str) -> None:
        self._record("restart", service)
        old = self.procs.get(service)
        if old is not None:
            old.terminate()
            old.wait()
            self.procs[service] = self._spawn()

    def rebuild(self, service: str) -> None:
        self._record("rebuild", service)

    def exec(self, service: str, rule: WatchRule) -> int:
        self._record("exec", service)
        return subprocess.run(list(rule.exec_command), cwd=self._roots[service], check=False).returncode

    def close(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
            proc.wait()
