"""One start of a container, as its supervisor (the shim, or the CLI for a foreground run) does it:
make the cgroup, launch PID 1, record the state; then wait, detect OOM, clean the cgroup.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from stackfile.runtime.api import ContainerSpec, RestartPolicy
from stackfile.runtime.linux import cgroups
from stackfile.runtime.linux.errors import StartFailed
from stackfile.runtime.linux.journal import container_event
from stackfile.runtime.linux.launch import Launching, begin
from stackfile.runtime.linux.plan import LaunchPlan, make_plan
from stackfile.runtime.linux.specjson import spec_from_dict
from stackfile.runtime.linux.state import ContainerDir, State, now_rfc3339, proc_start_time

__all__ = ["Run", "backoff", "should_restart"]

_BACKOFF_START, _BACKOFF_CAP, _RESET_AFTER = 0.1, 3.2, 10.0


def should_restart(policy: RestartPolicy, exit_code: int, restarts: int, stop_requested: bool) -> bool:
    """Docker's rule: never after a stop request; ``on-failure`` only on non-zero, up to N times."""
    if stop_requested or policy.name == "no":
        return False
    if policy.name == "on-failure":
        return exit_code != 0 and (policy.max_retries <= 0 or restarts < policy.max_retries)
    return True


def backoff(attempt: int, uptime: float) -> tuple[float, int]:
    """Delay before the next start and the next attempt index: doubles from 100 ms, capped,
    reset after 10 s of uptime."""
    if uptime >= _RESET_AFTER:
        attempt = 0
    return min(_BACKOFF_CAP, _BACKOFF_START * (2 ** attempt)), attempt + 1


class Run:
    """Starts and reaps one container's PID 1; writes ``state.json`` as it goes."""

    def __init__(self, cdir: ContainerDir, store_root: str, short_links: str,
                 peer_pid: Callable[[str], int | None] = lambda _id: None) -> None:
        self.cdir = cdir
        self.config = cdir.config()
        self.spec: ContainerSpec = spec_from_dict(self.config["spec"])
        self.store_root = store_root
        self.short_links = short_links
        self.peer_pid = peer_pid
        self.cgroup = cgroups.for_container(cdir.id)
        self.oom_before = 0

    def reload(self) -> None:
        """Read the container's config again before a restart: ``container update`` and
        ``container rename`` change it while the container lives."""
        self.config = self.cdir.config()
        self.spec = spec_from_dict(self.config["spec"])

    def plan(self) -> LaunchPlan:
        """Resolve the spec (user, caps, overlay options, network to join)."""
        spec = self.spec
        roots = (str(self.cdir.sub("upper")), *spec.layers)
        plan = make_plan(spec, store_root=self.store_root, cdir=str(self.cdir.path),
                         container_id=self.cdir.id, hostname=self.config["hostname"], etc_roots=roots,
                         short_links=self.short_links)
        join = ""
        if spec.network.mode == "path":
            join = spec.network.netns_path
        elif spec.network.mode == "container":
            pid = self.peer_pid(spec.network.container_id)
            if not pid:
                raise StartFailed(125, f"cannot join the network of container {spec.network.container_id!r}: "
                                       "it is not running")
            join = f"/proc/{pid}/ns/net"
        return plan._replace(join_net=join)

    def start(self, fds: tuple[int, int, int], *, supervisor: int, state: State,
              console: int = -1, session: bool | None = None) -> int:
        """Create the cgroup and start PID 1; on failure nothing is left but the error in state.

        With a tty spec and a unix socket ``console``, PID 1 sends its pty master there.
        ``session`` is accepted for older callers and ignored (no console unless one is given).
        """
        try:
            pid = self.begin(fds, console).finish()
        except BaseException as exc:
            self._failed(state, exc)
            raise
        return self._running(state, pid, supervisor)

    def begin(self, fds: tuple[int, int, int], console: int = -1, *, prepare: bool = False) -> Launching:
        """Create the cgroup and fork PID 1, which waits at its go point; on failure the cgroup is
        removed and nothing is recorded (the caller decides whether it was a start). A ``prepare``
        runs outside the container's start lock: on failure it only removes the cgroup, never
        kills what may be in it (a start made meanwhile by another process)."""
        try:
            plan = self.plan()
            if console < 0:
                plan = plan._replace(console=False)
            self.cgroup.create(self.spec.resources)
            join = tuple(self.cgroup.join_files())
            procs = () if join else tuple(self.cgroup.procs_files())
            plan = plan._replace(cgroup_join=join, cgroup_procs=procs,
                                 cgroup_mounts=tuple(self.cgroup.mounts()))
            self.oom_before = self.cgroup.oom_kills()
            return begin(plan, fds, console)
        except BaseException:
            if prepare:
                self.remove_cgroup()
            else:
                self.cleanup()
            raise

    def finish(self, launching: Launching, *, supervisor: int, state: State) -> int:
        """Let a prepared PID 1 exec and record it as :meth:`start` does."""
        try:
            pid = launching.finish()
        except BaseException as exc:
            self._failed(state, exc)
            raise
        return self._running(state, pid, supervisor)

    def _failed(self, state: State, exc: BaseException) -> None:
        self.cleanup()
        state.status, state.pid, state.error = "exited", None, str(getattr(exc, "message", exc))
        state.exit_code = getattr(exc, "code", 125)
        state.finished_at = now_rfc3339()
        self.cdir.write_state(state)

    def _running(self, state: State, pid: int, supervisor: int) -> int:
        state.status, state.pid, state.pid_start = "running", pid, proc_start_time(pid)
        state.supervisor, state.supervisor_start = supervisor, proc_start_time(supervisor)
        state.started_at, state.finished_at, state.exit_code, state.error = now_rfc3339(), None, None, ""
        state.oom_killed = False
        self.event("start")  # journalled first: whoever sees the state finds the event there
        self.cdir.write_state(state)
        return pid

    def event(self, action: str, **extra: str) -> None:
        """Record ``action`` of this container in the store's event journal."""
        container_event(self.store_root, action, self.cdir.id, self.config, **extra)

    def start_on_console(self, state: State) -> tuple[int, int]:
        """Start PID 1 on a pty made inside the container; returns PID 1 and the pty's master fd."""
        import socket

        null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            pid = self.start((null, null, null), supervisor=os.getpid(), state=state, console=theirs.fileno())
        finally:
            theirs.close()
            os.close(null)
        with ours:
            _, fds, _, _ = socket.recv_fds(ours, 16, 1)
        return pid, fds[0]

    def reap(self, pid: int, state: State, restart: Callable[[int], bool] = lambda _code: False) -> int:
        """Wait for PID 1, remove the cgroup, record exit code and OOM kill; the status becomes
        ``restarting`` when ``restart(code)`` says so, else ``exited`` (one write: no waiter sees
        a transient exit)."""
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = 255 << 8
        code = os.waitstatus_to_exitcode(status)
        code = code if code >= 0 else 128 - code
        state.oom_killed = self.cgroup.oom_kills() > self.oom_before
        self.cleanup()
        state.status = "restarting" if restart(code) else "exited"
        state.pid, state.pid_start = None, None
        state.exit_code, state.finished_at = code, now_rfc3339()
        try:  # a rename while it ran: the events name it as it is called now
            self.config = self.cdir.config()
        except (OSError, ValueError):
            pass
        if state.oom_killed:
            self.event("oom")
        self.event("die", exitCode=str(code))
        self.cdir.write_state(state)
        return code

    def remove_cgroup(self) -> None:
        """Remove the cgroup if it is empty (it is left to whoever is in it otherwise)."""
        try:
            self.cgroup.remove(timeout=1.0)
        except OSError:
            pass

    def cleanup(self) -> None:
        """Kill what is left in the cgroup and remove it."""
        try:
            self.cgroup.kill_all()
            self.cgroup.remove()
        except OSError:
            pass
