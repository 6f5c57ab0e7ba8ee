"""LinuxRuntime: the :class:`~stackfile.runtime.api.Runtime` protocol on this kernel.

State lives in files under ``containers/<id>/`` (see :mod:`.state`), so every CLI invocation sees
what the shims record; no daemon is involved.
"""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Iterator, Mapping

from stackfile.errors import Conflict, Internal
from stackfile.runtime.api import (
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    ExecSpec,
    LogLine,
    NetworkAttachment,
    Resources,
    RestartPolicy,
    Usage,
    to_plain,
)
from stackfile.runtime.linux import cgroups
from stackfile.runtime.linux.create import create_container, remove_dirs
from stackfile.runtime.linux.errors import StartFailed
from stackfile.runtime.linux.journal import container_event
from stackfile.runtime.linux.process import parse_signal
from stackfile.runtime.linux.refs import resolve_ref
from stackfile.runtime.linux.specjson import spec_from_dict
from stackfile.runtime.linux.state import ContainerDir, State, process_alive
from stackfile.store.paths import StorePaths

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import (see stackfile/record.py)
if TYPE_CHECKING:
    import signal as signals

    from stackfile.runtime.linux.shim import Zygote
else:  # signal's C core: signal.py only adds three enums, built at import (~0.5 ms a run)
    import _signal as signals

__all__ = ["LinuxRuntime", "parse_signal"]


class LinuxRuntime:
    """Containers under one store root."""

    def __init__(self, paths: StorePaths) -> None:
        from _thread import allocate_lock  # threading.Lock without importing threading (~0.7 ms)

        self.paths = paths
        self._zygote: Zygote | None = None
        self._zygote_lock = allocate_lock()
        self._prepared: dict[str, tuple[int, int]] = {}  # id → (ready fd, gate fd)

    # -- warm shims ----------------------------------------------------------------------
    def prewarm(self, count: int = 1) -> None:
        """Start a zygote shim (one interpreter, imports done) that forks the shims of the next
        ``start`` calls: N starts along a depends_on chain then cost one interpreter start and N
        forks. It exits with us (or at :meth:`discard_warm`); the shims it made live on."""
        from stackfile.runtime.linux.shim import Zygote

        with self._zygote_lock:
            if count > 0 and self._zygote is None:
                self._zygote = Zygote(self.paths.root_str)

    def discard_warm(self) -> None:
        """Let the zygote exit now."""
        with self._zygote_lock:
            zygote, self._zygote = self._zygote, None
        if zygote is not None:
            zygote.close()

    def prepare(self, container_id: str) -> None:
        """Let a shim of the zygote's build the created container ``container_id`` up to the exec of
        its PID 1 (which then waits), so that its :meth:`start` costs only the exec. Nothing is
        recorded: the container stays created, and if it is never started here (we exit, or
        :meth:`discard_prepared`) the shim undoes it all. Errors are never reported here: a start
        whose preparation failed takes the full path, which reports them. Without a zygote
        (:meth:`prewarm`) this does nothing."""
        with self._zygote_lock:  # a prewarm under way: its zygote
            zygote = self._zygote
        if zygote is None or container_id in self._prepared:
            return
        try:
            handles = zygote.prepare(container_id)
        except OSError:  # out of fds, say: its start takes the full path
            return
        if handles is not None:
            self._prepared[container_id] = handles

    def discard_prepared(self) -> None:
        """Close the gates of prepared containers that were not started: their shims undo the
        preparation and exit; the containers stay created."""
        undone = []
        while self._prepared:
            _, (ready, gate) = self._prepared.popitem()
            os.close(gate)
            undone.append(ready)
        for ready in undone:  # each shim answers once it has undone it all (or had nothing to undo)
            _read_ready_raw(ready)

    # -- records -------------------------------------------------------------------------
    def _dir(self, ref: str) -> ContainerDir:
        return ContainerDir(self.paths.container_str(resolve_ref(self.paths.containers_str, ref)))

    def _state(self, cdir: ContainerDir) -> tuple[State, ContainerState]:
        state = cdir.state()
        status = ContainerState(state.status)
        if status in (ContainerState.RUNNING, ContainerState.RESTARTING) and not process_alive(
                state.supervisor, state.supervisor_start):
            status = ContainerState.DEAD
        elif status is ContainerState.RUNNING and self._frozen(cdir.id):
            status = ContainerState.PAUSED
        return state, status

    def _frozen(self, cid: str) -> bool:
        cg = cgroups.for_container(cid)
        if isinstance(cg, cgroups.V1Cgroup):
            return _read(os.path.join(cg.root, "freezer", "stackfile", cid, "freezer.state")) == "FROZEN"
        return "frozen 1" in _read(os.path.join(cg.dirs()[0], "cgroup.events"))

    def _event(self, cdir: ContainerDir, action: str, **extra: str) -> None:
        try:
            config = cdir.config()
        except (OSError, ValueError):
            return
        container_event(self.paths.root_str, action, cdir.id, config, **extra)

    def _running_pid(self, cdir: ContainerDir) -> int:
        state, status = self._state(cdir)
        if status not in (ContainerState.RUNNING, ContainerState.PAUSED) or not state.pid:
            raise Conflict(f"container {cdir.id[:12]} is not running", hint="start it first")
        return state.pid

    # -- lifecycle -----------------------------------------------------------------------
    def create(self, spec: ContainerSpec, *, image: str = "", container_id: str = "") -> str:
        """Validate ``spec``, reserve the name and write the container's directory."""
        return create_container(self.paths, spec, image=image, container_id=container_id)

    def start(self, ref: str) -> None:
        """Start under a detached shim; returns once PID 1 runs (raises StartFailed otherwise)."""

        cdir = self._dir(ref)
        with _locked(cdir):  # two concurrent starts: the second sees the first one's shim
            self._start(cdir)

    def _start(self, cdir: ContainerDir) -> None:
        from stackfile.runtime.linux.shim import spawn_shim

        state, status = self._state(cdir)
        if status in (ContainerState.RUNNING, ContainerState.PAUSED, ContainerState.RESTARTING):
            return
        if status is ContainerState.DEAD and state.pid:  # its supervisor died: end the orphan first
            try:
                cgroups.for_container(cdir.id).thaw()
            except OSError:
                pass
            _signal(state.pid, signals.SIGKILL)
            _wait_gone(state.pid, state.pid_start, 10.0)
        cdir.clear_stop()
        handles = self._prepared.pop(cdir.id, None)
        error = None
        if handles is not None:
            from stackfile.runtime.linux.shim import release

            error = release(handles)  # None: the preparation was undone; the full path then
        zygote = self._zygote
        if error is None and zygote is not None:
            error = zygote.start(cdir.id)
        if error is None:  # no zygote, or it is gone: a shim of its own
            if zygote is not None:
                self.discard_warm()
            error = spawn_shim(self.paths.root_str, cdir.id)
        if error:
            code, _, message = error.partition(" ")
            raise StartFailed(int(code) if code.isdigit() else 125, message or error)

    def run_attached(self, spec: ContainerSpec, *, image: str = "", container_id: str = "",
                     stdio: tuple[int, int, int] | None = None) -> int:
        """Create, start and wait with the caller's stdio (or ``stdio``); ``auto_remove`` removes it
        afterwards."""
        from stackfile.runtime.linux.attached import run_foreground

        cid = self.create(spec, image=image, container_id=container_id)
        try:
            return run_foreground(self.paths, ContainerDir(self.paths.container_str(cid)), stdio)
        finally:
            if spec.auto_remove:
                self.remove(cid, force=True)

    def stop(self, ref: str, timeout: float | None = None) -> None:
        """Stop signal, grace period, SIGKILL; the supervisor will not restart it."""
        cdir = self._dir(ref)
        spec = spec_from_dict(cdir.config()["spec"])
        cdir.request_stop()
        state, status = self._state(cdir)
        if status is ContainerState.RESTARTING:
            self._wait_recorded(cdir, 5.0)  # the shim sees the request during its backoff sleep
        if status not in (ContainerState.RUNNING, ContainerState.PAUSED) or not state.pid:
            return
        grace = spec.stop_grace_seconds if timeout is None else timeout
        pid = state.pid
        if status is ContainerState.PAUSED:
            self.unpause(cdir.id)
        signal = parse_signal(spec.stop_signal)
        _signal(pid, signal)
        self._event(cdir, "kill", signal=str(int(signal)))
        if not _wait_gone(pid, state.pid_start, grace):
            _signal(pid, signals.SIGKILL)
            self._event(cdir, "kill", signal=str(int(signals.SIGKILL)))
            _wait_gone(pid, state.pid_start, 10.0)
        self._wait_recorded(cdir, 5.0)
        self._event(cdir, "stop")

    def _wait_recorded(self, cdir: ContainerDir, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.001
        while time.monotonic() < deadline:
            _, status = self._state(cdir)
            if status in (ContainerState.EXITED, ContainerState.DEAD, ContainerState.CREATED):
                return
            time.sleep(delay)
            delay = min(0.01, delay * 1.5)

    def kill(self, ref: str, signal: str = "SIGKILL") -> None:
        cdir = self._dir(ref)
        number = parse_signal(signal)
        _signal(self._running_pid(cdir), number)
        self._event(cdir, "kill", signal=str(int(number)))

    def restart(self, ref: str, timeout: float | None = None) -> None:
        """Stop and start; a zygote's interpreter starts while the container stops, and later
        restarts through this runtime (watch mode) reuse it: the start is then a fork."""
        cdir = self._dir(ref)
        self.prewarm(1)
        self.stop(cdir.id, timeout)
        self.start(cdir.id)
        self._event(cdir, "restart")

    def pause(self, ref: str) -> None:
        cdir = self._dir(ref)
        self._running_pid(cdir)
        cgroups.for_container(cdir.id).freeze()
        self._event(cdir, "pause")

    def unpause(self, ref: str) -> None:
        cdir = self._dir(ref)
        cgroups.for_container(cdir.id).thaw()
        self._event(cdir, "unpause")

    def wait(self, ref: str, timeout: float | None = None) -> int:
        """Poll the record until the container has exited for good; returns its exit code."""
        cdir = self._dir(ref)
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.005
        while True:
            state, status = self._state(cdir)
            if status in (ContainerState.EXITED, ContainerState.DEAD, ContainerState.CREATED):
                return state.exit_code if state.exit_code is not None else -1
            if deadline is not None and time.monotonic() > deadline:
                raise Conflict(f"container {cdir.id[:12]} still runs after {timeout} s")
            time.sleep(delay)
            delay = min(0.05, delay * 2)

    def remove(self, ref: str, *, force: bool = False) -> None:
        """Remove a container that is not running (``force`` kills it): cgroups, name, directory."""
        cdir = self._dir(ref)
        handles = self._prepared.pop(cdir.id, None)
        if handles is not None:  # its shim undoes the preparation; wait until it has
            os.close(handles[1])
            _read_ready_raw(handles[0])
        state, status = self._state(cdir)
        if status in (ContainerState.RUNNING, ContainerState.PAUSED, ContainerState.RESTARTING):
            if not force:
                raise Conflict(f"container {cdir.id[:12]} is {status.value}",
                               hint="stop it first, or remove it with force")
            cdir.request_stop()
            if status is ContainerState.PAUSED:
                cgroups.for_container(cdir.id).thaw()
            if state.pid:
                _signal(state.pid, signals.SIGKILL)
                _wait_gone(state.pid, state.pid_start, 10.0)
            self._wait_recorded(cdir, 5.0)
        elif status is ContainerState.DEAD and state.pid:
            _signal(state.pid, signals.SIGKILL)
            _wait_gone(state.pid, state.pid_start, 10.0)
        cg = cgroups.for_container(cdir.id)
        cg.kill_all()
        cg.remove(timeout=5.0)
        try:
            config = cdir.config()
        except (OSError, ValueError):
            config = None
        remove_dirs(self.paths, cdir)
        if config is not None:
            container_event(self.paths.root_str, "destroy", cdir.id, config)

    def exec(self, ref: str, spec: ExecSpec, stdio: tuple[int, int, int] | None = None) -> int:
        from stackfile.runtime.linux.attached import exec_attached

        cdir = self._dir(ref)
        pid = self._running_pid(cdir)
        if self._state(cdir)[1] is ContainerState.PAUSED:
            raise Conflict(f"container {cdir.id[:12]} is paused", hint="unpause it first")
        return exec_attached(cdir, pid, spec, stdio)

    # -- changes to a container that exists ----------------------------------------------
    def update(self, ref: str, resources: Resources, restart: RestartPolicy | None = None) -> None:
        """Record new limits (and restart policy, when given); a running (or paused) container's
        cgroup gets the limits now, and every later start (``restart``, the restart policy)
        applies them; its supervisor reads the policy when the container exits. If the kernel
        refuses a limit, the old ones are written back and nothing is recorded."""
        cdir = self._dir(ref)
        with _locked(cdir):
            config = cdir.config()
            old = spec_from_dict(config["spec"]).resources
            if restart is not None:
                config["spec"]["restart"] = to_plain(restart)
            if old != resources and self._state(cdir)[1] in (ContainerState.RUNNING, ContainerState.PAUSED):
                cg = cgroups.for_container(cdir.id)
                try:
                    cg.update(old, resources)
                except OSError as exc:
                    try:
                        cg.update(resources, old)
                    except OSError:
                        pass
                    raise Conflict(f"cannot update container {cdir.id[:12]}: the kernel refused the "
                                   f"limits ({exc.strerror or exc})",
                                   hint="a memory limit below what the container uses now cannot be "
                                        "reclaimed; give a larger one") from None
            config["spec"]["resources"] = to_plain(resources)
            cdir.write_config(config)

    def rename(self, ref: str, name: str, *, network: NetworkAttachment | None = None,
               on_exit: tuple[str, ...] | None = None) -> None:
        """Give the container another name: the name index points the new name at it (a name in
        use is a Conflict) and forgets the old one; the id, hostname and processes stay. The
        caller may move what it keyed by the name: ``network`` (a namespace file it moved) and
        ``on_exit`` replace the spec's for every later start."""
        from stackfile.runtime.linux.create import reserve_name
        from stackfile.runtime.linux.refs import NAMES_DIR, check_name

        check_name(name)
        cdir = self._dir(ref)
        with _locked(cdir):
            config = cdir.config()
            old = str(config["name"])
            if old == name:
                raise Conflict(f"the container is already called {name!r}",
                               hint="choose a name different from the current one")
            names = os.path.join(self.paths.containers_str, NAMES_DIR)
            reserve_name(names, name, cdir.id, self.paths.containers_str)
            config["name"] = name
            config["spec"]["name"] = name
            if network is not None:
                config["spec"]["network"] = to_plain(network)
            if on_exit is not None:
                config["spec"]["on_exit"] = list(on_exit)
            cdir.write_config(config)
            link = os.path.join(names, old)
            try:
                if os.readlink(link) == cdir.id:
                    os.unlink(link)
            except OSError:
                pass

    def set_etc_hosts(self, ref: str, text: str) -> None:
        """Replace the container's ``/etc/hosts`` (its networks changed): the file bound over it
        is rewritten in place, so a running container sees it at once; the record keeps it."""
        cdir = self._dir(ref)
        with _locked(cdir):
            config = cdir.config()
            config["spec"]["etc_hosts"] = text
            cdir.write_config(config)
            fd = os.open(cdir.sub("hosts"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            try:
                data = text.encode()
                while data:
                    data = data[os.write(fd, data):]
            finally:
                os.close(fd)

    def open_stdin(self, ref: str) -> int | None:
        """A write end of the running container's standard input (what ``attach`` sends), or
        None when it was created without ``stdin_open``. Its supervisor keeps the input open, so
        closing this fd does not end PID 1's stdin."""
        import errno

        cdir = self._dir(ref)
        self._running_pid(cdir)
        if not cdir.config()["spec"]["process"].get("stdin_open"):
            return None
        try:
            fd = os.open(cdir.sub("stdin"), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno not in (errno.ENXIO, errno.ENOENT):
                raise
            raise Conflict(f"container {cdir.id[:12]} has no standard input to attach to",
                           hint="it was started by an older stackfile; restart it") from None
        os.set_blocking(fd, True)
        return fd

    # -- queries -------------------------------------------------------------------------
    def logs(self, ref: str, *, follow: bool = False, tail: int | None = None,
             since: str | None = None) -> Iterator[LogLine]:
        from stackfile.runtime.linux.logs import read_logs

        cdir = self._dir(ref)

        def running() -> bool:
            return self._state(cdir)[1] in (ContainerState.RUNNING, ContainerState.PAUSED,
                                           ContainerState.RESTARTING)
        return read_logs(cdir.sub("log.json"), tail=tail, since=since, follow=follow, running=running)

    def inspect(self, ref: str) -> ContainerStatus:
        return self._status(self._dir(ref))

    def _status(self, cdir: ContainerDir) -> ContainerStatus:
        config = cdir.config()
        state, status = self._state(cdir)
        alive = status in (ContainerState.RUNNING, ContainerState.PAUSED)
        return ContainerStatus(
            id=cdir.id, name=config["name"], state=status, pid=state.pid if alive else None,
            exit_code=state.exit_code, oom_killed=state.oom_killed, created_at=config["created_at"],
            started_at=state.started_at, finished_at=state.finished_at, restart_count=state.restart_count,
            labels=dict(config["spec"].get("labels") or {}), image=config.get("image", ""),
            command=tuple(config["spec"]["process"]["argv"]), error=state.error,
        )

    def spec_of(self, ref: str) -> ContainerSpec:
        return spec_from_dict(self._dir(ref).config()["spec"])

    def list(self, *, all: bool = False,
             labels: Mapping[str, str] | None = None) -> builtins.list[ContainerStatus]:
        """Containers (running ones unless ``all``) whose labels include ``labels``, sorted by name."""
        out = []
        try:
            ids = sorted(n for n in os.listdir(self.paths.containers_str) if not n.startswith("."))
        except FileNotFoundError:
            return []
        for cid in ids:
            cdir = ContainerDir(self.paths.container_str(cid))
            try:
                st = self._status(cdir)
            except (OSError, ValueError, KeyError):
                continue  # being created or removed
            if labels and any(st.labels.get(k) != v for k, v in labels.items()):
                continue
            if all or st.state in (ContainerState.RUNNING, ContainerState.PAUSED, ContainerState.RESTARTING):
                out.append(st)
        return sorted(out, key=lambda s: (s.name, s.id))

    def top(self, ref: str) -> builtins.list[dict[str, str]]:
        from stackfile.runtime.linux.top import processes

        cdir = self._dir(ref)
        self._running_pid(cdir)
        return processes(cgroups.for_container(cdir.id).pids())

    def usage(self, ref: str) -> Usage:
        from stackfile.runtime.linux.usage import read_usage

        cdir = self._dir(ref)
        pid = self._running_pid(cdir)
        mode = cdir.config()["spec"].get("network", {}).get("mode")
        return read_usage(cgroups.for_container(cdir.id), pid, host_network=mode == "host")

    def upper_dir(self, ref: str) -> str:
        return self._dir(ref).sub("upper")

    def rootfs_path(self, ref: str) -> str:
        return f"/proc/{self._running_pid(self._dir(ref))}/root"


class _locked:
    """``with _locked(cdir):`` an exclusive flock on the container's directory (a class rather than
    a contextlib.contextmanager: contextlib is ~0.4 ms of every ``container run``)."""

    def __init__(self, cdir: ContainerDir) -> None:
        self.path = cdir.path

    def __enter__(self) -> None:
        import fcntl

        self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(self.fd)
            raise

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _read_ready_raw(fd: int) -> None:
    """Read a shim's ready pipe to its end (the shim answered and let go of it) and close it."""
    try:
        while os.read(fd, 4096):
            pass
    finally:
        os.close(fd)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        raise Internal(f"cannot signal pid {pid}: {exc.strerror}") from None


def _wait_gone(pid: int, start: int | None, timeout: float) -> bool:
    """Wait until ``pid`` (started at ``start``) has exited; a pidfd wakes us at its exit."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        fd = -1
    try:
        return _wait_fd_or_poll(fd, pid, start, timeout)
    finally:
        if fd >= 0:
            os.close(fd)


def _wait_fd_or_poll(fd: int, pid: int, start: int | None, timeout: float) -> bool:
    import select

    deadline = time.monotonic() + timeout
    poller = select.poll()
    if fd >= 0:
        poller.register(fd, select.POLLIN)
    delay = 0.002
    while process_alive(pid, start):  # checked after pidfd_open: a reused pid is not waited on
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if fd >= 0:
            poller.poll(min(left, 0.05) * 1000)
        else:
            time.sleep(min(delay, left))
            delay = min(0.05, delay * 2)
    return True
