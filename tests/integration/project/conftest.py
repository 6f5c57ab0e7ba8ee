"""A small harness: a stack in a temp dir, the CLI run as a subprocess against a throwaway store."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


class Project:
    """One project: ``sf(...)`` runs ``stackfile --root R -p NAME -f stack.yaml ...``."""

    def __init__(self, root: Path, workdir: Path, name: str) -> None:
        self.root, self.workdir, self.name = root, workdir, name

    def write(self, text: str, name: str = "stack.yaml") -> None:
        (self.workdir / name).write_text(text)

    def sf(self, *args: str, check: bool = True, timeout: float = 120,
           file: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "stackfile", "--root", str(self.root), "-p", self.name]
        if file:
            cmd += ["-f", str(self.workdir / "stack.yaml")]
        proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout,
                              cwd=self.workdir, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            what = " ".join(args)
            raise AssertionError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def ps(self, *services: str) -> dict[str, dict[str, object]]:
        out = self.sf("ps", "-a", "--format", "json", *services).stdout
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return {str(r["Name"]): r for r in rows}


@pytest.fixture()
def project(store_root: Path, tmp_path: Path) -> Iterator[Project]:
    workdir = tmp_path / "proj"
    workdir.mkdir()
    proj = Project(store_root, workdir, f"t{secrets.token_hex(4)}")
    try:
        yield proj
    finally:
        proj.sf("down", "-v", "-t", "1", "--remove-orphans", check=False, file=False)
        left = proj.sf("container", "ls", "-q", "--filter", f"label=io.stackfile.project={proj.name}",
                       check=False, file=False).stdout.split()
        if left:  # one-off run containers still running: down leaves them, as Compose does
            proj.sf("container", "stop", "-t", "0", *left, check=False, file=False)
            proj.sf("down", "-v", "-t", "1", "--remove-orphans", check=False, file=False)
