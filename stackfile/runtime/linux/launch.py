"""Start a container's PID 1 with one fork: unshare(pid) → fork → (netns, unshare) → rootfs → exec.

The caller unshares only its *children's* pid namespace, forks (the child is PID 1 of a new pid
namespace and the caller's direct child, so the caller waits for it), and sets its children's
namespace back at once. On cgroup v1 PID 1 first moves itself into its cgroups (``tasks``: no
global lock); on v2, while PID 1 unshares mnt/uts/ipc(/net) and builds its rootfs, the caller
moves it (``cgroup.procs``). Either way the caller then writes ``G`` on a go pipe; PID 1 execs
only after that. A close-on-exec pipe reports ``P`` when PID 1 is at its go point (rootfs built,
privileges dropped), failures as ``E<code> <message>`` (or ``x<errno>`` from the sealed entry
program that execs the command: :mod:`.entry`); EOF without one means exec succeeded.
:func:`begin` / :meth:`Launching.finish` split a start there: a prepared container (``up``) waits
at its go point until its start.
"""

from __future__ import annotations

import _socket
import fcntl
import os
import struct

from stackfile.runtime.linux import _libc as c
from stackfile.runtime.linux.errors import StartFailed
from stackfile.runtime.linux.plan import LaunchPlan
from stackfile.runtime.linux.process import (
    drop_privileges,
    exec_command,
    exec_failure,
    forwarded_signals,
    non_dumpable,
    reap_as_init,
)
from stackfile.runtime.linux.rootfs import build_rootfs, pivot

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import (see stackfile/record.py)
if TYPE_CHECKING:
    import signal
else:  # signal's C core: signal.py only adds three enums, built at import (~0.5 ms of every run)
    import _signal as signal

__all__ = ["Launching", "StartFailed", "begin", "launch", "lo_up"]

_BASE_NS = c.CLONE_NEWNS | c.CLONE_NEWUTS | c.CLONE_NEWIPC  # the pid namespace: _fork_in_new_pid_ns
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 1


def lo_up() -> None:
    """Bring the loopback interface of the caller's network namespace up."""
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        ifr = fcntl.ioctl(sock, _SIOCGIFFLAGS, struct.pack("16sh", b"lo", 0))
        flags = struct.unpack("16sh", ifr[:18])[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))
    finally:
        sock.close()


def _report(w: int, code: int, message: str) -> None:
    try:
        os.write(w, f"E{code} {message}\n".encode())
    except OSError:
        pass


def _stdio(fds: tuple[int, int, int], keep: tuple[int, ...]) -> None:
    for target, fd in enumerate(fds):
        if fd != target:
            os.dup2(fd, target)
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def _console(sock_fd: int, uid: int) -> None:
    """Open a pty in the container's devpts, make it our stdio and controlling terminal, and pass
    the master to the supervisor over the unix socket ``sock_fd`` (runc's console socket)."""
    import socket
    import termios

    master, slave = os.openpty()
    os.fchown(slave, uid, -1)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for target in (0, 1, 2):
        os.dup2(slave, target)
    os.close(slave)
    sock = socket.socket(fileno=sock_fd)
    socket.send_fds(sock, [b"pty"], [master])
    sock.close()
    os.close(master)


def _await_go(w: int, go: int) -> None:
    """Say we are at the go point (``P``), then block until the supervisor has put us in the
    container's cgroups, or a prepared start is released (it writes ``G``)."""
    os.write(w, b"P\n")
    if os.read(go, 1) != b"G":
        os._exit(125)  # the supervisor failed and reports it itself
    os.close(go)


def _pid1(plan: LaunchPlan, fds: tuple[int, int, int], w: int, go: int, console: int) -> None:
    _stdio(fds, (w, go, console) if console >= 0 else (w, go))
    if console >= 0:
        import socket  # noqa: F401 - loaded while the host's filesystem is still visible
        import termios  # noqa: F401 - (only a tty start needs them)
    if plan.new_net:
        lo_up()
    build_rootfs(plan)
    pivot(plan)
    if console >= 0:
        _console(console, plan.identity.uid)
    c.sethostname(plan.hostname)
    if plan.domainname:
        c.setdomainname(plan.domainname)
    drop_privileges(plan.identity, plan.caps, no_new_privs=plan.no_new_privs, ulimits=plan.ulimits,
                    seccomp=plan.seccomp)
    _await_go(w, go)
    if plan.init:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, forwarded_signals())
        child = os.fork()
        if child == 0:
            exec_command(plan.argv, plan.env, plan.cwd, w)
        os.close(w)
        c.set_process_title("/sbin/init")
        reap_as_init(child, mask)
    exec_command(plan.argv, plan.env, plan.cwd, w)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename is None and exc.args[1:]:
        return str(exc.args[1])
    return str(exc) or type(exc).__name__


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _attach(procs_files: tuple[str, ...], pid: int) -> str:
    """Move ``pid`` (0: the caller) into the container's cgroups; returns an error message or ""."""
    try:
        for procs in procs_files:
            with open(procs, "w") as fh:
                fh.write(str(pid))
    except OSError as exc:
        return f"cannot join the container's cgroups: {exc.strerror}"
    return ""


def _child(plan: LaunchPlan, fds: tuple[int, int, int], pipes: tuple[int, int], join_fd: int,
           console: int) -> None:
    w, go = pipes
    non_dumpable()  # before any namespace: no /proc/PID/exe of the host's Python from inside
    error = _attach(plan.cgroup_join, 0)  # cgroup v1: PID 1 joins itself, first thing
    if error:
        _report(w, 125, error)
        os._exit(125)
    try:
        if join_fd >= 0:
            c.setns(join_fd, c.CLONE_NEWNET)
        c.unshare(_BASE_NS | (c.CLONE_NEWNET if plan.new_net else 0))
        _pid1(plan, fds, w, go, console)
    except BaseException as exc:  # everything is reported to the parent
        _report(w, 125, _describe(exc))
    os._exit(125)


def _fork_in_new_pid_ns() -> int:
    """fork() with the child as PID 1 of a new pid namespace; the caller's own is unchanged."""
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        c.unshare(c.CLONE_NEWPID)
        try:
            pid = os.fork()
        except BaseException:
            c.setns(own, c.CLONE_NEWPID)
            raise
        if pid:
            c.setns(own, c.CLONE_NEWPID)  # this thread's next children are ours again
        return pid
    finally:
        os.close(own)


class Launching:
    """A PID 1 forked by :func:`begin`, held at its go point until :meth:`finish`."""

    __slots__ = ("argv0", "attach_error", "data", "go_w", "pid", "r")

    def __init__(self, pid: int, r: int, go_w: int, attach_error: str, argv0: str = "") -> None:
        self.pid, self.r, self.go_w, self.attach_error, self.data = pid, r, go_w, attach_error, b""
        self.argv0 = argv0

    def at_gate(self) -> bool:
        """Wait until PID 1 reports it is at its go point (True) or failed before it (False)."""
        if self.attach_error:
            return False
        while b"P\n" not in self.data:
            chunk = os.read(self.r, 4096)
            if not chunk:
                return False
            self.data += chunk
            if self.data.startswith(b"E"):
                return False
        return True

    def finish(self) -> int:
        """Let PID 1 exec; returns its pid, or raises :class:`StartFailed` (PID 1 reaped)."""
        if not self.attach_error:
            try:
                os.write(self.go_w, b"G")
            except BrokenPipeError:  # it is gone: its error (or EOF) is in the pipe
                pass
        os.close(self.go_w)  # without G, PID 1 exits at its go point
        data = (self.data + _read_all(self.r)).decode("utf-8", "replace")
        error = exec_failure(data, self.argv0)
        if self.attach_error and not error:
            error = f"125 {self.attach_error}"
        if error:
            os.waitpid(self.pid, 0)
            code, _, message = error.partition(" ")
            raise StartFailed(int(code), message)
        return self.pid

    def abandon(self) -> None:
        """Close the go pipe without ``G`` (PID 1 exits at its go point) and reap PID 1."""
        os.close(self.go_w)
        os.close(self.r)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def begin(plan: LaunchPlan, fds: tuple[int, int, int], console: int = -1) -> Launching:
    """Fork PID 1 with stdio ``fds``; it builds its rootfs and then waits at its go point."""
    console = console if plan.console else -1
    r, w = os.pipe2(os.O_CLOEXEC)
    go_r, go_w = os.pipe2(os.O_CLOEXEC)
    join_fd = os.open(plan.join_net, os.O_RDONLY | os.O_CLOEXEC) if plan.join_net else -1
    try:
        pid = _fork_in_new_pid_ns()
    except BaseException:
        for fd in (r, w, go_r, go_w, join_fd):
            if fd >= 0:
                os.close(fd)
        raise
    if pid == 0:
        os.close(r)
        os.close(go_w)
        _child(plan, fds, (w, go_r), join_fd, console)
    for fd in (w, go_r, join_fd):
        if fd >= 0:
            os.close(fd)
    return Launching(pid, r, go_w, _attach(plan.cgroup_procs, pid), plan.argv[0])


def launch(plan: LaunchPlan, fds: tuple[int, int, int], console: int = -1) -> int:
    """Start PID 1 with stdio ``fds``; returns its host pid once it has exec'd.

    With ``plan.console``, PID 1 sends its pty master over the unix socket ``console`` instead.
    Raises :class:`StartFailed` (and reaps what it started) if any step fails.
    """
    return begin(plan, fds, console).finish()
