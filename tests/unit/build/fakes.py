"""A fake RUN executor that records every job and writes a marker file instead of running anything."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from stackfile.build.executor import BuildFailed, RunJob
from stackfile.errors import Location
from stackfile.store.paths import StorePaths


class FakeExecutor:
    """Counts executions; ``fail_on`` makes a command fail; the change is a file named after the job."""

    def __init__(self, paths: StorePaths, fail_on: str | None = None) -> None:
        self.paths = paths
        self.jobs: list[RunJob] = []
        self.fail_on = fail_on

    def run(self, job: RunJob, output: Callable[[str], None]) -> Path | None:
        self.jobs.append(job)
        command = job.argv[-1]
        output(f"running {command}")
        if self.fail_on is not None and self.fail_on in command:
            raise BuildFailed(job.description, 3, ["boom: no such thing"], Location())
        for cache in job.cache_dirs:
            marker = Path(cache.source) / "hits"
            marker.write_text(marker.read_text() + "x" if marker.exists() else "x")
        if command.startswith("true"):
            return None
        self.paths.tmp.mkdir(parents=True, exist_ok=True)
        out = Path(tempfile.mkdtemp(dir=self.paths.tmp))
        (out / "out").mkdir()
        name = f"{len(self.jobs)}-" + "".join(c if c.isalnum() else "_" for c in command)[:40]
        (out / "out" / name).write_text(f"{command}\n{sorted(job.env.items())}\n")
        os.chmod(out, 0o755)
        return out

    @property
    def commands(self) -> list[str]:
        return [j.argv[-1] for j in self.jobs]
