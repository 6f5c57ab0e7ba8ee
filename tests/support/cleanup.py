"""Leak checks and cleanup for a throwaway store root: its processes, cgroups, links and nft tables.

The cgroup directories come from the runtime itself (``cgroups.for_container``), so the checks look
where the runtime puts them on this host, v1 or v2. Everything here removes only what belongs to the
given store root: processes whose command line names the root (shims, DNS servers, port proxies) or
that sit in a cgroup of one of its containers, and kernel objects named after its records.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["cgroup_dirs", "clean_store_root", "container_ids", "store_processes"]


def cgroup_dirs(container_id: str) -> list[str]:
    """The container's cgroup directories that exist, where the runtime puts them on this host."""
    from stackfile.errors import Unavailable
    from stackfile.runtime.linux.cgroups import for_container

    try:
        return [d for d in for_container(container_id).dirs() if os.path.isdir(d)]
    except Unavailable:  # no cgroup hierarchy at all: nothing can leak there
        return []


def container_ids(root: Path) -> list[str]:
    """Ids of the containers recorded under the store root (or a store one level below it, as tests
    that make several stores in one ``store_root`` have)."""
    found = [*root.glob("containers/*"), *root.glob("*/containers/*")]
    return sorted({p.name for p in found if not p.name.startswith(".")})


def _names_root(cmdline: bytes, root: str) -> bool:
    return any(a == root or a.startswith(root + "/") for a in cmdline.decode(errors="replace").split("\0"))


def host_processes() -> Iterator[tuple[int, bytes, str]]:
    """(pid, command line, /proc/PID/cgroup text) of every other process on the host."""
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                cmdline = fh.read()
            with open(f"/proc/{name}/cgroup") as fh:
                groups = fh.read()
        except OSError:
            continue
        yield int(name), cmdline, groups


def store_processes(root: Path, ids: list[str] | None = None) -> list[int]:
    """Processes of the store root: its shims and helpers (named by the root) and those in the
    cgroups of its containers."""
    ids = container_ids(root) if ids is None else ids
    marks = [f"/stackfile/{cid}" for cid in ids]
    return [pid for pid, cmdline, groups in host_processes()
            if _names_root(cmdline, str(root)) or any(m in groups for m in marks)]


def _kill_and_wait(pids: list[int], timeout: float = 5.0) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is ours
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.01)


def _network_rows(root: Path) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Network names, sandbox ids and (sandbox, network) endpoints recorded in the store database."""
    db = root / "stackfile.db"
    if not db.exists():
        return [], [], []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            nets = [r[0] for r in conn.execute("SELECT name FROM networks")]
            sbs = [r[0] for r in conn.execute("SELECT id FROM sandboxes")]
            eps = [(r[0], r[1]) for r in conn.execute("SELECT sandbox_id, network FROM endpoints")]
    except sqlite3.Error:  # no network tables: this store made no network
        return [], [], []
    return nets, sbs, eps


def _remove_network_objects(root: Path) -> None:
    """Delete the bridges, veths and nft tables named after the store's network records."""
    for store in [root, *(p.parent for p in root.glob("*/stackfile.db"))]:
        _remove_store_network_objects(store)


def _remove_store_network_objects(root: Path) -> None:
    from stackfile.network import firewall
    from stackfile.network.links import delete_link
    from stackfile.network.names import bridge_name, ports_table, veth_name
    from stackfile.store.paths import StorePaths

    nets, sbs, eps = _network_rows(root)
    paths = StorePaths.at(root)
    for sid, net in eps:
        with contextlib.suppress(Exception):
            delete_link(veth_name(paths, sid, net))
    for sid in sbs:
        with contextlib.suppress(Exception):
            firewall.remove_ports(ports_table(paths, sid))
    for net in nets:
        bridge = bridge_name(paths, net)
        with contextlib.suppress(Exception):
            firewall.remove(bridge)
        with contextlib.suppress(Exception):
            delete_link(bridge)


def clean_store_root(root: Path) -> None:
    """Stop the root's processes, then remove its links, nft tables, mounts, cgroups and tree."""
    import shutil

    from tests.conftest import _unmount_below

    ids = container_ids(root)
    try:
        _kill_and_wait(store_processes(root, ids))
        _remove_network_objects(root)
    finally:
        _unmount_below(root)
        shutil.rmtree(root, ignore_errors=True)
        deadline = time.monotonic() + 2.0
        for d in [d for cid in ids for d in cgroup_dirs(cid)]:
            while True:  # EBUSY until the killed tasks are reaped
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.01)
