"""A failed ``up`` leaves nothing that blocks the next command (issue 11.3), and a network the
kernel lost is repaired by the next ``up`` (issue 12.2: the kernel wins over the record)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/etc"]
    ports: ["127.0.0.1::80"]
  client:
    image: busybox
    command: ["sleep", "1000"]
    networks: [default, back]
networks:
  back: {}
volumes:
  data: {}
"""


def _path_without(tmp: Path, tool: str) -> str:
    """A PATH of symlinks to every program of the usual directories but ``tool``."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for d in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            link = bin_dir / name
            if name != tool and not link.exists() and not link.is_symlink():
                link.symlink_to(os.path.join(d, name))
    return str(bin_dir)


def _sf(p: Project, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "stackfile", "--root", str(p.root), "-p", p.name, "-f",
           str(p.workdir / "stack.yaml"), *args]
    return subprocess.run(cmd, cwd=p.workdir, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def _made(p: Project) -> list[str]:
    """What the store holds for the project: networks, sandboxes (netns files), containers."""
    nets = p.sf("network", "ls", "-q", "--project", p.name, file=False).stdout.split()
    netns = sorted(os.listdir(p.root / "netns")) if (p.root / "netns").is_dir() else []
    return nets + netns + list(p.ps())


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed")
def test_up_without_nft_leaves_nothing_behind(project: Project, tmp_path: Path) -> None:
    project.write(STACK)
    env = {**os.environ, "PATH": _path_without(tmp_path, "nft")}
    for _ in range(2):  # the second up meets the same, clear error (not "no interface ...")
        failed = _sf(project, env, "up", "-d")
        assert failed.returncode != 0
        assert "nft is not installed" in failed.stderr and "no interface" not in failed.stderr, failed.stderr
        assert "Traceback" not in failed.stderr
        assert _made(project) == []
    down = _sf(project, env, "down", "-v")
    assert down.returncode == 0, down.stderr
    project.sf("up", "-d")  # with nft back on the PATH, the project comes up
    assert set(project.ps()) == {f"{project.name}-web-1", f"{project.name}-client-1"}


def test_up_repairs_a_bridge_the_kernel_lost(project: Project) -> None:
    project.write(STACK.replace("    networks: [default, back]\n", ""))
    project.sf("up", "-d")
    info = project.sf("network", "inspect", f"{project.name}_default", file=False).stdout
    bridge = next(line.split('"')[3] for line in info.splitlines() if '"Bridge"' in line)
    subprocess.run(["ip", "link", "del", bridge], check=True)
    assert not Path(f"/sys/class/net/{bridge}").exists()
    up = project.sf("up", "-d")  # not "nothing to do": the record is not trusted blindly
    assert "Network" in up.stderr, up.stderr
    assert Path(f"/sys/class/net/{bridge}").exists()
    got = project.sf("exec", "-T", "client", "wget", "-q", "-O", "-", "http://web/hostname")
    assert got.stdout.strip() == f"{project.name}-web-1"
