"""Networks against their bridge, nftables table and DNS server; sandboxes against their network
namespace, veths, proxy and container."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import datetime
from functools import partial
from pathlib import Path

from stackfile.engine.check import Finding
from stackfile.store.paths import StorePaths

__all__ = ["check", "mounted"]

# A sandbox is made just before its container: one younger than this may be a create in progress.
YOUNG_SECONDS = 60.0


def mounted(prefix: str) -> set[str]:
    """Mount points at or below ``prefix`` in this mount namespace."""
    try:
        with open("/proc/self/mountinfo") as fh:
            points = {line.split()[4] for line in fh}
    except OSError:
        return set()
    return {p for p in points if p == prefix or p.startswith(prefix.rstrip("/") + "/")}


def _nft_tables() -> set[str] | None:
    if shutil.which("nft") is None:
        return None
    proc = subprocess.run(["nft", "list", "tables", "ip"], capture_output=True, text=True)
    return {line.split()[-1] for line in proc.stdout.splitlines() if line.startswith("table ")}


def _age(created_at: str) -> float:
    try:
        return time.time() - datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return YOUNG_SECONDS + 1


def check(paths: StorePaths) -> list[Finding]:
    """Findings of the networks and sandboxes recorded in the store."""
    if not paths.db.exists():
        return []
    from stackfile.network import helpers, links
    from stackfile.network.manager import NetworkManager
    from stackfile.network.names import nft_table

    nm = NetworkManager(paths)
    tables = _nft_tables()
    out = []
    for rec in nm.list_networks():
        problems = []
        if not links.link_exists(rec.bridge):
            problems.append(f"its bridge {rec.bridge} is missing")
        if not helpers.is_running(rec.dns_pid, rec.id):
            problems.append("its DNS server is not running")
        if tables is not None and nft_table(rec.bridge) not in tables:
            problems.append("its nftables table is missing")
        if problems:
            out.append(
                Finding(
                    "networks",
                    rec.name,
                    "; ".join(problems),
                    "bring them back",
                    partial(nm.repair_network, rec.name),
                )
            )
    out += _sandboxes(paths, nm)
    return out


def _sandboxes(paths: StorePaths, nm: object) -> list[Finding]:
    from stackfile.engine.check.containers import container_dirs

    names = {str(c.get("name")) for c in container_dirs(paths).values() if c is not None}
    conn = nm.conn  # type: ignore[attr-defined]
    netns_mounts = mounted(str(paths.netns))
    out = []
    for sid, created_at in conn.execute("SELECT id, created_at FROM sandboxes ORDER BY id").fetchall():
        destroy = partial(nm.destroy_sandbox, sid)  # type: ignore[attr-defined]
        if sid not in names:
            if _age(created_at) > YOUNG_SECONDS:
                out.append(
                    Finding(
                        "sandboxes",
                        sid,
                        "the network sandbox of a container that does not exist",
                        "remove it",
                        destroy,
                    )
                )
            continue
        problems = []
        if str(paths.netns / sid) not in netns_mounts:
            problems.append("its network namespace is gone")
        for (veth,) in conn.execute("SELECT host_ifname FROM endpoints WHERE sandbox_id = ?", (sid,)):
            if not Path(f"/sys/class/net/{veth}").exists():
                problems.append(f"its veth {veth} is gone")
        if problems:
            out.append(
                Finding(
                    "sandboxes",
                    sid,
                    "; ".join(problems),
                    hint="recreate the container (stackfile up --force-recreate)",
                )
            )
    recorded = {r[0] for r in conn.execute("SELECT id FROM sandboxes")}
    files = {str(paths.netns / n) for n in os.listdir(paths.netns)} if paths.netns.is_dir() else set()
    for point in sorted(netns_mounts | files):
        sid = Path(point).name
        if Path(point).parent == paths.netns and sid not in recorded:
            out.append(
                Finding(
                    "sandboxes",
                    sid,
                    "a network namespace no sandbox records",
                    "remove it",
                    partial(_drop_netns, point),
                )
            )
    return out


def _drop_netns(point: str) -> None:
    from stackfile.network.netns import remove_netns

    remove_netns(Path(point))
