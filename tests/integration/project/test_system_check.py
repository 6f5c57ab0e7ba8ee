"""``stackfile system check [--repair] [--json]`` on a store damaged the ways a crash, a kill -9 or
a hand in the store damages it (issue 12.3): each damage is found and named, ``--repair`` fixes it
and says so, and the check then exits 0."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from tests.conftest import needs_root
from tests.integration.project.conftest import Project

pytestmark = needs_root

STACK = """
services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/etc"]
  client:
    image: busybox
    command: ["sleep", "1000"]
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _pids_of(container_id: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if container_id.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    out.append(int(entry))
            except OSError:
                continue
    return out


def test_a_sound_store_checks_clean(project: Project) -> None:
    project.write(STACK)
    project.sf("up", "-d")
    assert project.sf("system", "check", file=False).returncode == 0
    report = json.loads(project.sf("system", "check", "--json", file=False).stdout)
    assert report == {"sound": True, "problems": [], "repaired": [], "repair_failed": []}


def test_damage_is_found_and_repaired(project: Project) -> None:
    p, root = project, project.root
    p.write(STACK)
    p.sf("up", "-d")
    short = p.sf("ps", "-q", "client").stdout.strip()
    client_id = next(c for c in os.listdir(root / "containers") if c.startswith(short))
    shim = _pids_of(client_id)
    assert shim
    # a container's directory gone behind the runtime's back: its shim and process live on, unrecorded
    cdir = root / "containers" / client_id
    subprocess.run(["umount", "-R", "-l", str(cdir / "rootfs")], check=False, capture_output=True)
    subprocess.run(["rm", "-rf", str(cdir)], check=True)
    # the network's bridge lost, a corrupt blob, debris of interrupted writes, a stray volume directory
    info = p.sf("network", "inspect", f"{p.name}_default", file=False).stdout
    bridge = next(line.split('"')[3] for line in info.splitlines() if '"Bridge"' in line)
    subprocess.run(["ip", "link", "del", bridge], check=True)
    blob = next((root / "blobs" / "sha256").iterdir())
    blob.chmod(0o644)
    with blob.open("ab") as fh:
        fh.write(b"junk")
    (root / "ingest").mkdir(exist_ok=True)
    (root / "ingest" / "partial").write_bytes(b"x")
    (root / "tmp" / "layer-interrupted").mkdir(parents=True)
    (root / "volumes" / "stray" / "_data").mkdir(parents=True)

    found = p.sf("system", "check", "--json", check=False, file=False)
    assert found.returncode == 1
    problems = {(f["area"], f["object"]) for f in json.loads(found.stdout)["problems"]}
    assert ("blobs", f"sha256:{blob.name}") in problems
    assert ("blobs", "ingest/partial") in problems
    assert ("layers", "tmp/layer-interrupted") in problems
    assert ("containers", f"{p.name}-client-1") in problems  # its name, held for nothing
    assert ("networks", f"{p.name}_default") in problems
    assert ("volumes", "stray") in problems
    assert {("processes", f"pid {pid}") for pid in shim} <= problems
    text = p.sf("system", "check", check=False, file=False)
    assert text.returncode == 1 and f"its bridge {bridge} is missing" in text.stdout

    repaired = p.sf("system", "check", "--repair", check=False, file=False)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert repaired.stdout.count("repaired") >= len(problems)
    assert "the store is sound" in repaired.stdout
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in shim) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in shim)
    assert Path(f"/sys/class/net/{bridge}").exists()
    assert p.sf("system", "check", file=False).returncode == 0
    p.sf("up", "-d")  # and the project converges again
    got = p.sf("exec", "-T", "client", "wget", "-q", "-O", "-", "http://web/hostname")
    assert got.stdout.strip() == f"{p.name}-web-1"
    p.sf("volume", "rm", "stray", file=False)
