"""The no-op ``up`` fast path: answer "nothing to do" without loading the stack or the runtime.

After a successful ``up`` we remember, keyed by the CLI inputs (files, flags, environment, cwd):
the stat of every file the load read (and of their directories, so a new override file is seen),
the id + config hash of every container the plan wanted, and each network's bridge and DNS
server. The next ``up`` with the same inputs stats those files, reads each container's
``state.json`` and looks for the bridges and DNS servers; if nothing moved and all of them are
there, the plan would be empty, so it returns at once. Anything unexpected is a miss, and a miss
just means the normal (full) path runs. Stack files that read other files (include, extends,
env_file, Jinja2 statements) are never remembered. Imports here are kept light on purpose.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

try:  # the builtin module: importing hashlib loads OpenSSL (+2 ms on a path that has ~10)
    from _sha256 import sha256
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import sha256

if TYPE_CHECKING:
    from stackfile.store.paths import StorePaths

__all__ = ["cache_key", "fast_flags", "forget", "lookup", "remember", "unchanged", "unchanged_entry"]

VOLATILE_ENV = frozenset({"_", "OLDPWD", "SHLVL", "COLUMNS", "LINES", "PS1", "SSH_CLIENT", "SSH_CONNECTION",
                          "SSH_TTY", "TERM", "WINDOWID", "STY", "TMUX", "TMUX_PANE"})


def fast_flags(plan_options: Any) -> dict[str, Any] | None:
    """The plan flags that key the cache; None when the flags rule the fast path out."""
    get = plan_options.get if isinstance(plan_options, Mapping) else lambda k, d=None: getattr(
        plan_options, k, d)
    if get("force_recreate", False) or get("build", False) or get("remove_orphans", False):
        return None
    return {"services": sorted(get("services", ()) or ()), "no_deps": bool(get("no_deps", False)),
            "no_recreate": bool(get("no_recreate", False)), "no_start": bool(get("no_start", False)),
            "no_build": bool(get("no_build", False)), "scale": dict(sorted((get("scale", {}) or {}).items()))}


def cache_key(opts: Any, flags: Mapping[str, Any]) -> str:
    """A digest of everything that selects and shapes the load and the plan."""
    env = {k: v for k, v in (getattr(opts, "environ", {}) or {}).items() if k not in VOLATILE_ENV}
    data = {
        "files": list(getattr(opts, "files", []) or []), "name": getattr(opts, "project_name", None),
        "dir": getattr(opts, "project_directory", None), "env_files": list(getattr(opts, "env_files", [])),
        "profiles": list(getattr(opts, "profiles", [])), "env": getattr(opts, "environment_name", None),
        "vars": dict(getattr(opts, "template_vars", {}) or {}), "environ": env, "cwd": os.getcwd(),
        "plan": dict(flags),
    }
    return sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _root(paths: StorePaths | str) -> str:
    return str(paths.root) if not isinstance(paths, str) else os.path.abspath(paths)


def _cache_file(paths: StorePaths | str, key: str) -> str:
    """``<root>/projects/.fast/<key>.json`` (StorePaths' layout, without importing pathlib)."""
    return os.path.join(_root(paths), "projects", ".fast", f"{key}.json")


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _running(root: str, name: str, container_id: str) -> bool:
    containers = os.path.join(root, "containers")
    try:
        if os.readlink(os.path.join(containers, ".names", name)).rsplit("/", 1)[-1] != container_id:
            return False
        with open(os.path.join(containers, container_id, "state.json")) as fh:
            state = json.load(fh)
    except (OSError, ValueError):
        return False
    if state.get("status") != "running" or not state.get("pid"):
        return False
    try:
        with open(f"/proc/{state['pid']}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    fields = stat[stat.rfind(b")") + 2:].split()
    return fields[0] != b"Z" and int(fields[19]) == state.get("pid_start")


def lookup(paths: StorePaths | str, key: str) -> dict[str, Any] | None:
    """The remembered entry when every file and container is as it was, else None."""
    root = _root(paths)
    try:
        with open(_cache_file(root, key)) as fh:
            entry: dict[str, Any] = json.load(fh)
    except (OSError, ValueError):
        return None
    for path, stat in entry.get("stats", {}).items():
        if _stat(path) != stat:
            return None
    for c in entry.get("containers", []):
        if not _running(root, c["name"], c["id"]):
            return None
    for net in entry.get("networks", []):  # the kernel wins: a bridge or DNS server gone is a miss
        if not _network_alive(net):
            return None
    return entry


def _network_alive(net: Mapping[str, Any]) -> bool:
    if not os.path.exists(f"/sys/class/net/{net['bridge']}"):
        return False
    try:
        with open(f"/proc/{int(net['dns_pid'])}/cmdline", "rb") as fh:
            return str(net["id"]).encode() in fh.read()
    except (OSError, ValueError, TypeError):
        return False


def unchanged(opts: Any, plan_options: Any) -> list[str] | None:
    """The services of a project whose ``up`` would do nothing, or None (then run the full path).

    ``plan_options`` is a ``PlanOptions`` or a plain mapping of the same flags (the CLI's).
    """
    entry = unchanged_entry(opts, plan_options)
    return list(entry["services"]) if entry is not None else None


def unchanged_entry(opts: Any, plan_options: Any) -> dict[str, Any] | None:
    """What :func:`unchanged` found remembered (``services``, ``containers``: name and id of each
    running container), or None."""
    flags = fast_flags(plan_options)
    if flags is None:
        return None
    return lookup(getattr(opts, "root", None) or "/var/lib/stackfile", cache_key(opts, flags))



def _inputs(files: Iterable[str], working_dir: str, env_files: Iterable[str]) -> list[str]:
    from pathlib import Path

    out = {str(Path(f).absolute()) for f in files if f and f != "-"}
    out |= {str(Path(working_dir) / ".env")} if working_dir else set()
    out |= {str(Path(working_dir, f).absolute()) for f in env_files}
    out |= {str(Path(f).parent) for f in list(out)}
    return sorted(out)


# Files that pull in other files the cache cannot see: such projects always take the full path.
INDIRECT = ("include", "extends", "env_file", "{%")


def _self_contained(files: Iterable[str]) -> bool:
    from pathlib import Path

    for name in files:
        try:
            text = Path(name).read_text(errors="replace")
        except OSError:
            return False
        if any(word in text for word in INDIRECT):
            return False
    return True


RACY_NS = 20_000_000  # a file touched this close to (or after) the load may have changed unseen


def remember(paths: StorePaths, opts: Any, plan_options: Any, project: Any, services: list[str],
             containers: Iterable[Mapping[str, str]], extra_files: Iterable[str] = (),
             loaded_ns: int | None = None, networks: Iterable[Mapping[str, Any]] = ()) -> None:
    """Record a converged project for :func:`unchanged` (best effort: a failure only costs speed)."""
    flags = fast_flags(plan_options)
    if flags is None or getattr(project, "files", None) is None or any(f == "-" for f in project.files) \
            or not _self_contained(project.files):
        return
    inputs = _inputs([*project.files, *extra_files], str(project.working_dir or ""),
                     getattr(opts, "env_files", []))
    inputs.append(str(paths.image_names_marker))  # an image rebuilt under a service's image name
    stats = {p: _stat(p) for p in inputs}
    if loaded_ns is not None and any(s is not None and s[0] >= loaded_ns - RACY_NS for s in stats.values()):
        return  # edited during (or just before) this up: the next up must load it
    entry = {"project": project.name, "services": services, "stats": stats,
             "containers": [dict(c) for c in containers], "networks": [dict(n) for n in networks]}
    from pathlib import Path

    target = Path(_cache_file(paths, cache_key(opts, flags)))
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = target.with_name(f".{target.name}.{os.getpid()}")
        tmp.write_text(json.dumps(entry, sort_keys=True))
        os.replace(tmp, target)
    except OSError:
        return


def forget(paths: StorePaths) -> None:
    """Drop every remembered entry (after down, or any command that changes containers)."""
    import shutil

    shutil.rmtree(paths.projects / ".fast", ignore_errors=True)
