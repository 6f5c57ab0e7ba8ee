"""End to end on the quickstart example: up -d --wait, HTTP through the published port, an env edit
recreates only that service (and the plan says why), down -v leaves nothing behind."""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import needs_root
from tests.support.cleanup import cgroup_dirs

pytestmark = needs_root

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "quickstart"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Project:
    def __init__(self, root: Path, workdir: Path, name: str) -> None:
        self.root, self.workdir, self.name = root, workdir, name

    def sf(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "stackfile", "--root", str(self.root), "-p", self.name,
               "-f", str(self.workdir / "stack.yaml"), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.workdir)
        if check and proc.returncode != 0:
            what = " ".join(args)
            raise AssertionError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def ps(self) -> dict[str, dict[str, object]]:
        out = self.sf("ps", "-a", "--format", "json").stdout
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return {str(r["Service"]): r for r in rows}


@pytest.fixture()
def project(store_root: Path, tmp_path: Path) -> Iterator[Project]:
    workdir = tmp_path / "quickstart"
    shutil.copytree(EXAMPLE, workdir)
    port = free_port()
    text = (workdir / "stack.yaml").read_text().replace("127.0.0.1:8080:80", f"127.0.0.1:{port}:80")
    (workdir / "stack.yaml").write_text(text)
    proj = Project(store_root, workdir, f"qs{secrets.token_hex(3)}")
    proj.port = port  # type: ignore[attr-defined]
    try:
        yield proj
    finally:
        proj.sf("down", "-v", "-t", "1", check=False)


def get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
        return resp.read().decode()


def leftovers(p: Project, ids: list[str]) -> list[str]:
    found = []
    mountinfo = Path("/proc/self/mountinfo").read_text()
    found += [f"mount {ln.split()[4]}" for ln in mountinfo.splitlines() if str(p.root) in ln.split()[4]]
    found += [f"netns {n.name}" for n in (p.root / "netns").glob("*")] if (p.root / "netns").exists() else []
    if (p.root / "volumes").exists():
        found += [f"volume {v.name}" for v in (p.root / "volumes").glob("*")]
    found += [f"container dir {c.name}" for c in (p.root / "containers").glob("[0-9a-f]*")]
    for cid in ids:
        found += [f"cgroup {c}" for c in cgroup_dirs(cid)]
        found += [f"process for {cid[:12]}: {_stat(pid)}" for pid in Path("/proc").glob("[0-9]*")
                  if _cmdline(pid).find(cid) >= 0]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    net_ids = [line for line in links.splitlines() if p.name in line]
    found += [f"link {line}" for line in net_ids]
    return found


def _stat(pid: Path) -> str:
    """pid, state, parent pid, process group and command of a process (for the failure message)."""
    try:
        fields = (pid / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return f"{pid.name} (gone)"
    return f"pid {pid.name} state {fields[0]} ppid {fields[1]} pgrp {fields[2]}: {_cmdline(pid)[:120]!r}"


def _cmdline(pid: Path) -> str:
    try:
        return (pid / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_quickstart_lifecycle(project: Project) -> None:
    p = project
    port = p.port  # type: ignore[attr-defined]
    p.sf("up", "-d", "--wait", "--wait-timeout", "60")
    rows = p.ps()
    assert sorted(rows) == ["data", "web", "worker"]
    assert all(r["State"] == "running" for r in rows.values())
    assert rows["data"]["Health"] == "healthy" and rows["web"]["Health"] == "healthy"
    assert rows["web"]["Publishers"] == [{"URL": "127.0.0.1", "TargetPort": 80, "PublishedPort": port,
                                          "Protocol": "tcp"}]
    page = get(port)
    assert "Hello from stackfile" in page and "tick" in page  # web -> data by service name, volume shared

    assert p.sf("up", "-d", "--dry-run").stderr.strip().endswith("nothing to do")
    before = {s: r["ID"] for s, r in rows.items()}

    stack = p.workdir / "stack.yaml"
    stack.write_text(stack.read_text().replace("Hello from stackfile", "Hello again"))
    dry = p.sf("up", "-d", "--dry-run").stdout.strip()
    assert dry == ("#1 service:web:1, RecreateContainer, config hash changed: environment.GREETING\n"
                   "#2 service:web:1, StartContainer, recreated (after #1)")
    p.sf("up", "-d", "--wait", "--wait-timeout", "60")
    after = {s: r["ID"] for s, r in p.ps().items()}
    assert after["web"] != before["web"]
    assert after["data"] == before["data"] and after["worker"] == before["worker"]
    assert "Hello again" in get(port)

    ids = [json.loads(line)["ID"] for line in p.sf("ps", "-a", "--format", "json").stdout.splitlines()]
    full_ids = [d.name for d in (p.root / "containers").iterdir() if any(d.name.startswith(i) for i in ids)]
    p.sf("down", "-v", "-t", "2")
    assert p.ps() == {}
    assert leftovers(p, full_ids) == []
