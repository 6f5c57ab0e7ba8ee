"""What a store root leaves on the host outside its own records: processes (shims, DNS servers,
port proxies, health monitors, container processes whose supervisor died), mounts and cgroups."""

from __future__ import annotations

import os
import re
import signal
from functools import partial

from stackfile.engine.check import Finding
from stackfile.store.paths import StorePaths

__all__ = ["check", "store_processes"]

_ID = re.compile(r"[0-9a-f]{64}")


def _cmdline(pid: int) -> list[str]:
    """The arguments of ``pid``, also split at spaces (a shim's title is one string with spaces)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read()
    except OSError:
        return []
    return [part for a in raw.split(b"\0") for part in a.decode(errors="replace").split(" ") if part]


def _after(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1] if flag in args and args.index(flag) + 1 < len(args) else ""


def _cgroup_container(pid: int) -> str:
    """The container id of the ``stackfile/<id>`` cgroup ``pid`` is in, or ""."""
    try:
        with open(f"/proc/{pid}/cgroup") as fh:
            text = fh.read()
    except OSError:
        return ""
    found = re.search(r"/stackfile/([0-9a-f]{64})\b", text)
    return found.group(1) if found else ""


def store_processes(paths: StorePaths) -> list[tuple[int, str, str]]:
    """``(pid, kind, object)`` of the helper processes of this store root: ``shim``/``health`` (a
    container id), ``dns`` (a network id), ``proxy`` (a sandbox id), and ``container`` (a process in
    the cgroup of one of this root's containers: its id)."""
    root, db = paths.root_str, paths.db_str
    mine = (
        {c for c in os.listdir(paths.containers) if not c.startswith(".")}
        if paths.containers.is_dir()
        else set()
    )
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        args = _cmdline(pid)
        if not args:
            continue
        ids = [a for a in args if _ID.fullmatch(a)]
        if root in args and ids and any(a.endswith("shim_main") or "shim_main import" in a for a in args):
            out.append((pid, "shim", ids[0]))
        elif "stackfile.reconcile.health_main" in args and root in args and ids:
            out.append((pid, "health", ids[0]))
        elif "stackfile.network.dnsd" in args and _after(args, "--db") == db:
            out.append((pid, "dns", _after(args, "--network")))
        elif "stackfile.network.proxyd" in args and _after(args, "--db") == db:
            out.append((pid, "proxy", _after(args, "--sandbox")))
        elif (cid := _cgroup_container(pid)) in mine:
            out.append((pid, "container", cid))
    return sorted(out)


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            out.setdefault(ppid, []).append(int(entry))
    return out


def _kill(pid: int) -> None:
    """SIGKILL the process and every descendant (a shim's container processes are its children)."""
    children = _children()
    todo, doomed = [pid], []
    while todo:
        p = todo.pop()
        doomed.append(p)
        todo += children.get(p, [])
    for p in doomed:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            continue


def _live_containers(paths: StorePaths) -> dict[str, int | None]:
    """Container id → the pid its state records as running (None when it is not running)."""
    import json

    out: dict[str, int | None] = {}
    for cid in os.listdir(paths.containers) if paths.containers.is_dir() else []:
        if cid.startswith("."):
            continue
        try:
            state = json.loads((paths.containers / cid / "state.json").read_text())
        except (OSError, ValueError):
            state = {}
        out[cid] = state.get("pid") if state.get("status") in ("running", "paused", "restarting") else None
    return out


def check(paths: StorePaths) -> list[Finding]:
    """Findings of processes, mounts and cgroups of this store root that no record accounts for."""
    out = _processes(paths)
    out += _mounts(paths)
    return out


def _processes(paths: StorePaths) -> list[Finding]:
    from stackfile.engine.check.containers import container_dirs

    dirs = {cid for cid, c in container_dirs(paths).items() if c is not None}
    live = _live_containers(paths)
    networks: dict[str, int | None] = {}
    sandboxes: dict[str, int | None] = {}
    if paths.db.exists():
        from stackfile.network.schema import database

        conn = database(paths)
        networks = {r[0]: r[1] for r in conn.execute("SELECT id, dns_pid FROM networks")}
        sandboxes = {r[0]: r[1] for r in conn.execute("SELECT id, proxy_pid FROM sandboxes")}
    out = []
    for pid, kind, obj in store_processes(paths):
        why = ""
        if kind in ("shim", "health") and obj not in dirs:
            why = (
                f"the {'supervisor' if kind == 'shim' else 'health monitor'} of container {obj[:12]}, "
                "which does not exist"
            )
        elif kind == "container" and obj not in dirs:
            why = f"a process of container {obj[:12]}, which does not exist"
        elif kind == "container" and live.get(obj) is None:
            why = f"a process of container {obj[:12]}, which is not running"
        elif kind == "dns" and networks.get(obj, -1) != pid:
            why = "a DNS server of a network that does not exist"
        elif kind == "proxy" and sandboxes.get(obj, -1) != pid:
            why = f"a port proxy of sandbox {obj}, which does not exist or has another proxy"
        if why:
            name = " ".join(_cmdline(pid))[:60]
            out.append(Finding("processes", f"pid {pid}", f"{why} ({name})", "kill it", partial(_kill, pid)))
    return out


def _mounts(paths: StorePaths) -> list[Finding]:
    from stackfile.engine.check.networks import mounted

    live = _live_containers(paths)
    out = []
    containers = str(paths.containers)
    for point in sorted(mounted(str(paths.root)), key=len, reverse=True):
        owner = ""
        if point.startswith(containers + "/"):
            cid = point[len(containers) + 1 :].split("/", 1)[0]
            if live.get(cid) is None:
                owner = (
                    f"container {cid[:12]}, which is not running"
                    if cid in live
                    else f"container {cid[:12]}, which does not exist"
                )
        elif point.startswith(str(paths.tmp) + "/"):
            owner = "an interrupted build"
        if owner:
            out.append(
                Finding("mounts", point, f"a mount left by {owner}", "unmount it", partial(_umount, point))
            )
    return out


def _umount(point: str) -> None:
    from stackfile.runtime.linux import _libc

    _libc.umount2(point, _libc.MNT_DETACH)
