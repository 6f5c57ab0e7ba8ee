"""Per-container cgroups, v1 (one hierarchy per controller) and v2 (unified), detected at run time.

A container's cgroup is ``stackfile/<id>`` in every hierarchy used. Limits are written before the
container's first process joins (it writes itself into ``cgroup.procs`` before it forks PID 1), so
everything it starts inherits them. ``root`` is a parameter so the v2 path can be tested on a
plain directory. Paths are str (``container run`` does not import pathlib).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable

from stackfile.errors import Unavailable
from stackfile.runtime.api import Resources

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import (see stackfile/record.py)
if TYPE_CHECKING:
    import signal
else:  # signal's C core: signal.py only adds three enums, built at import (~0.5 ms of every run)
    import _signal as signal

__all__ = ["CGROUP_ROOT", "Cgroup", "V1Cgroup", "V2Cgroup", "for_container"]

CGROUP_ROOT = "/sys/fs/cgroup"
_PERIOD = 100_000
_V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids", "freezer")
_V1_ALWAYS = ("memory", "freezer")  # accounting + OOM, pause; cpu/pids only when limited


def _write(path: str, value: str | int) -> None:
    with open(path, "w") as fh:
        fh.write(str(value))


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""


def _keyed(text: str, key: str) -> int:
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def _mkdir(path: str, parents: bool = False) -> None:
    """``Path.mkdir(parents=parents, exist_ok=True)``."""
    try:
        os.makedirs(path) if parents else os.mkdir(path)
    except FileExistsError:
        if not os.path.isdir(path):
            raise


def _rmdir(path: str, deadline: float) -> None:
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class Cgroup:
    """The cgroup(s) of one container. Subclasses know the file names of each version."""

    version = 0

    def __init__(self, root: str | os.PathLike[str], container_id: str) -> None:
        self.root = os.fspath(root)
        self.id = container_id

    def dirs(self) -> list[str]:
        """The container's cgroup directories (one per hierarchy)."""
        raise NotImplementedError

    def create(self, resources: Resources) -> None:
        """Make the directories and write the limits."""
        raise NotImplementedError

    def mounts(self) -> list[tuple[str, str]]:
        """What the container sees under ``/sys/fs/cgroup``, as (path below it, host directory):
        its own cgroup in every hierarchy it has one in (Docker mounts the container's cgroup
        there, read-only, so runtimes inside can read their limits). Call after :meth:`create`."""
        raise NotImplementedError

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes itself into to join."""
        return [os.path.join(d, "cgroup.procs") for d in self.dirs() if os.path.isdir(d)]

    def join_files(self) -> list[str]:
        """Files a single-threaded process writes ``0`` into to join cheaply; empty when the
        version has none (then the supervisor writes the pid into :meth:`procs_files`).

        Any write to ``cgroup.procs`` takes the kernel's global threadgroup lock, whose first
        taking after a pause waits for an RCU grace period: 5-15 ms on a cold ``container run``
        here, on the start's critical path. A thread moving *itself* through v1's ``tasks``
        file skips that lock (and a just-forked child has only that one thread)."""
        return []

    def attach(self, pid: int) -> None:
        """Move ``pid`` into the container's cgroups."""
        for path in self.procs_files():
            _write(path, pid)

    def pids(self) -> list[int]:
        """Host pids of every process in the container's cgroup."""
        for d in self.dirs():
            text = _read(os.path.join(d, "cgroup.procs"))
            if text:
                return sorted(int(p) for p in text.split())
        return []

    def kill_all(self) -> None:
        """SIGKILL every process left in the cgroup."""
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def freeze(self) -> None:
        raise NotImplementedError

    def thaw(self) -> None:
        raise NotImplementedError

    def oom_kills(self) -> int:
        """How many processes of this cgroup the kernel OOM-killed."""
        raise NotImplementedError

    def remove(self, timeout: float = 2.0) -> None:
        """Remove the directories, retrying while the last (zombie) tasks are reaped."""
        deadline = time.monotonic() + timeout
        for d in self.dirs():
            _rmdir(d, deadline)


class V1Cgroup(Cgroup):
    """cgroup v1: memory and freezer hierarchies always, cpu and pids when the container is limited
    there (every hierarchy joined costs a migration with an RCU grace period at start)."""

    version = 1

    def dirs(self) -> list[str]:
        return [os.path.join(self.root, c, "stackfile", self.id) for c in _V1_CONTROLLERS
                if os.path.isdir(os.path.join(self.root, c))]

    def _dir(self, controller: str) -> str:
        return os.path.join(self.root, controller, "stackfile", self.id)

    def _file(self, controller: str, name: str) -> str:
        return os.path.join(self.root, controller, "stackfile", self.id, name)

    def join_files(self) -> list[str]:
        return [os.path.join(d, "tasks") for d in self.dirs() if os.path.isdir(d)]

    def mounts(self) -> list[tuple[str, str]]:
        """One directory per hierarchy the container has a cgroup in (``memory``, ``freezer``,
        and ``cpu``/``pids`` when it is limited there); the others stay absent, which a runtime
        inside reads as "no limit" (the container's processes are not limited there either)."""
        return [(c, d) for c in _V1_CONTROLLERS if os.path.isdir(d := self._dir(c))]

    def create(self, resources: Resources) -> None:
        r = resources
        wanted = {*_V1_ALWAYS, *(("cpu",) if r.cpus is not None or r.cpu_shares is not None else ()),
                  *(("pids",) if r.pids_limit is not None and r.pids_limit > 0 else ())}
        for c in sorted(wanted):
            if os.path.isdir(os.path.join(self.root, c)):
                _mkdir(self._dir(c), parents=True)
        if r.memory is not None:
            _write(self._file("memory", "memory.limit_in_bytes"), r.memory)
            swap = r.memory_swap if r.memory_swap is not None else 2 * r.memory
            if os.path.exists(self._file("memory", "memory.memsw.limit_in_bytes")):
                _write(self._file("memory", "memory.memsw.limit_in_bytes"), swap)
        if r.memory_reservation is not None:
            _write(self._file("memory", "memory.soft_limit_in_bytes"), r.memory_reservation)
        if r.cpus is not None:
            _write(self._file("cpu", "cpu.cfs_period_us"), _PERIOD)
            _write(self._file("cpu", "cpu.cfs_quota_us"), max(1000, int(r.cpus * _PERIOD)))
        if r.cpu_shares is not None:
            _write(self._file("cpu", "cpu.shares"), r.cpu_shares)
        if r.pids_limit is not None and r.pids_limit > 0:
            _write(self._file("pids", "pids.max"), r.pids_limit)

    def freeze(self) -> None:
        _write(self._file("freezer", "freezer.state"), "FROZEN")
        _wait_for(lambda: _read(self._file("freezer", "freezer.state")).strip() == "FROZEN")

    def thaw(self) -> None:
        _write(self._file("freezer", "freezer.state"), "THAWED")

    def oom_kills(self) -> int:
        return _keyed(_read(self._file("memory", "memory.oom_control")), "oom_kill")


class V2Cgroup(Cgroup):
    """cgroup v2: one directory in the unified tree; controllers enabled in the parents."""

    version = 2

    def dirs(self) -> list[str]:
        return [os.path.join(self.root, "stackfile", self.id)]

    def _file(self, name: str) -> str:
        return os.path.join(self.root, "stackfile", self.id, name)

    def mounts(self) -> list[tuple[str, str]]:
        """The container's directory of the unified tree is ``/sys/fs/cgroup`` itself."""
        return [("", d) for d in self.dirs() if os.path.isdir(d)]

    def create(self, resources: Resources) -> None:
        parent = os.path.join(self.root, "stackfile")
        available = set(_read(os.path.join(self.root, "cgroup.controllers")).split())
        _check_controllers(resources, available, self.root)
        _mkdir(parent)
        wanted = available & {"memory", "cpu", "pids"}
        for d in (self.root, parent):
            if wanted:
                _write(os.path.join(d, "cgroup.subtree_control"), " ".join(f"+{c}" for c in sorted(wanted)))
        _mkdir(self.dirs()[0])
        r = resources
        if r.memory is not None:
            _write(self._file("memory.max"), r.memory)
            if r.memory_swap is not None:
                swap = "max" if r.memory_swap < 0 else max(0, r.memory_swap - r.memory)
                _write(self._file("memory.swap.max"), swap)
        if r.memory_reservation is not None:
            _write(self._file("memory.low"), r.memory_reservation)
        if r.cpus is not None:
            _write(self._file("cpu.max"), f"{max(1000, int(r.cpus * _PERIOD))} {_PERIOD}")
        if r.cpu_shares is not None:
            _write(self._file("cpu.weight"), 1 + ((max(2, r.cpu_shares) - 2) * 9999) // 262142)
        if r.pids_limit is not None and r.pids_limit > 0:
            _write(self._file("pids.max"), r.pids_limit)

    def freeze(self) -> None:
        _write(self._file("cgroup.freeze"), 1)
        _wait_for(lambda: _keyed(_read(self._file("cgroup.events")), "frozen") == 1)

    def thaw(self) -> None:
        _write(self._file("cgroup.freeze"), 0)

    def oom_kills(self) -> int:
        return _keyed(_read(self._file("memory.events")), "oom_kill")

    def kill_all(self) -> None:
        kill = self._file("cgroup.kill")
        if os.path.exists(kill):
            _write(kill, 1)
        else:
            super().kill_all()


def _check_controllers(r: Resources, available: set[str], root: str) -> None:
    """Refuse limits whose v2 controller this hierarchy lacks (the kernel would say only EACCES
    on the missing ``memory.max``, after the cgroup was made)."""
    needs = {"memory": r.memory is not None or r.memory_reservation is not None,
             "cpu": r.cpus is not None or r.cpu_shares is not None,
             "pids": r.pids_limit is not None and r.pids_limit > 0}
    missing = sorted(c for c, needed in needs.items() if needed and c not in available)
    if missing:
        raise Unavailable(
            f"cannot set the {'/'.join(missing)} limit: the cgroup v2 hierarchy at {root} has no "
            f"{'/'.join(missing)} controller (cgroup.controllers: {' '.join(sorted(available)) or 'none'})",
            hint="run without that limit, or give this host the controller in cgroup v2: it is bound to a "
                 "cgroup v1 hierarchy (hybrid layout) or not delegated to this cgroup; booting with "
                 "systemd.unified_cgroup_hierarchy=1 gives all of them")


def _wait_for(check: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise Unavailable("the cgroup freezer did not settle in time")
        time.sleep(0.002)


def for_container(container_id: str, root: str | os.PathLike[str] = CGROUP_ROOT) -> Cgroup:
    """The container's cgroup in the hierarchy this host uses (v2 if ``root`` is a unified mount)."""
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        return V2Cgroup(root, container_id)
    if os.path.isdir(os.path.join(root, "memory")) or os.path.isdir(os.path.join(root, "pids")):
        return V1Cgroup(root, container_id)
    raise Unavailable(f"no cgroup hierarchy found under {root}",
                      hint="mount cgroup2 on /sys/fs/cgroup (or the v1 controllers)")
