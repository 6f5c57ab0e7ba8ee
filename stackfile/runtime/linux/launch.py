"""Start a container's PID 1: fork → (join cgroups, netns) unshare → fork → rootfs → pivot → exec.

The caller is a child subreaper while it launches, so PID 1 is re-parented to it when the
intermediate child exits (and stays its child afterwards): the caller waits for PID 1 directly.
A close-on-exec pipe reports back: the intermediate writes ``P<pid>``, a failure writes
``E<code> <message>``; EOF with no error means exec succeeded.
"""

from __future__ import annotations

import _socket
import _thread
import fcntl
import os
import signal
import struct
import termios
from collections.abc import Callable

from stackfile.runtime.linux import _libc as c
from stackfile.runtime.linux.errors import StartFailed
from stackfile.runtime.linux.plan import LaunchPlan
from stackfile.runtime.linux.process import (
    ExecFailed,
    drop_privileges,
    exec_command,
    forwarded_signals,
    reap_as_init,
)
from stackfile.runtime.linux.rootfs import build_rootfs, pivot

__all__ = ["StartFailed", "launch", "lo_up"]

_BASE_NS = c.CLONE_NEWNS | c.CLONE_NEWUTS | c.CLONE_NEWIPC | c.CLONE_NEWPID
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


def _await_go(go: int) -> None:
    """Block until the supervisor has put us in the container's cgroups (it writes ``G``)."""
    if os.read(go, 1) != b"G":
        os._exit(125)  # the supervisor failed and reports it itself
    os.close(go)


def _exec(plan: LaunchPlan, w: int) -> None:
    try:
        exec_command(plan.argv, plan.env, plan.cwd)
    except ExecFailed as exc:
        _report(w, exc.code, str(exc))
        os._exit(exc.code)


def _pid1(plan: LaunchPlan, fds: tuple[int, int, int], w: int, go: int, console: int) -> None:
    _stdio(fds, (w, go, console) if console >= 0 else (w, go))
    if console >= 0:
        import socket  # noqa: F401 - loaded while the host's filesystem is still visible
    if plan.new_net:
        lo_up()
    build_rootfs(plan)
    pivot(plan)
    if console >= 0:
        _console(console, plan.identity.uid)
    c.sethostname(plan.hostname)
    if plan.domainname:
        c.setdomainname(plan.domainname)
    drop_privileges(plan.identity, plan.caps, no_new_privs=plan.no_new_privs, ulimits=plan.ulimits)
    _await_go(go)
    if plan.init:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, forwarded_signals())
        child = os.fork()
        if child == 0:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            _exec(plan, w)
        os.close(w)
        c.set_process_title("/sbin/init")
        reap_as_init(child, mask)
    _exec(plan, w)


def _intermediate(plan: LaunchPlan, fds: tuple[int, int, int], w: int, go: int, join_fd: int,
                  console: int) -> None:
    if join_fd >= 0:
        c.setns(join_fd, c.CLONE_NEWNET)
    c.unshare(_BASE_NS | (c.CLONE_NEWNET if plan.new_net else 0))
    pid = os.fork()
    if pid:
        os.write(w, b"P%d\n" % pid)
        os._exit(0)
    try:
        _pid1(plan, fds, w, go, console)
    except BaseException as exc:
        _report(w, 125, _describe(exc))
    os._exit(125)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename is None and exc.args[1:]:
        return str(exc.args[1])
    return str(exc) or type(exc).__name__


def _read_all(fd: int, on_line: Callable[[bytes], None] = lambda _line: None) -> bytes:
    """Read ``fd`` to EOF, calling ``on_line`` for each complete line as it arrives."""
    data = b""
    seen = 0
    while chunk := os.read(fd, 65536):
        data += chunk
        while (nl := data.find(b"\n", seen)) >= 0:
            on_line(data[seen:nl])
            seen = nl + 1
    os.close(fd)
    return data


def _attach(procs_files: tuple[str, ...], go: int) -> Callable[[bytes], None]:
    """On PID 1's ``P<pid>`` line: write it into the cgroups, then let it go on to exec.

    The cgroup migration (an RCU grace period on v1) overlaps with PID 1 building its rootfs.
    """
    def on_line(line: bytes) -> None:
        if line.startswith(b"P"):
            for procs in procs_files:
                with open(procs, "w") as fh:
                    fh.write(line[1:].decode())
            os.write(go, b"G")
    return on_line


def launch(plan: LaunchPlan, fds: tuple[int, int, int], console: int = -1) -> int:
    """Start PID 1 with stdio ``fds``; returns its host pid once it has exec'd.

    With ``plan.console``, PID 1 sends its pty master over the unix socket ``console`` instead.

    Raises :class:`StartFailed` (and reaps what it started) if any step fails.
    """
    _subreaper(+1)
    try:
        return _launch(plan, fds, console if plan.console else -1)
    finally:
        _subreaper(-1)


_lock = _thread.allocate_lock()
_launching = [0, False]  # launches in flight, whether we set the flag (thread-safe toggling)


def _subreaper(delta: int) -> None:
    """Keep PR_SET_CHILD_SUBREAPER set while any thread launches; restore it after the last."""
    with _lock:
        if _launching[0] == 0 and delta > 0 and not c.get_child_subreaper():
            c.prctl(c.PR_SET_CHILD_SUBREAPER, 1)
            _launching[1] = True
        _launching[0] += delta
        if _launching[0] == 0 and _launching[1]:
            c.prctl(c.PR_SET_CHILD_SUBREAPER, 0)
            _launching[1] = False


def _launch(plan: LaunchPlan, fds: tuple[int, int, int], console: int) -> int:
    r, w = os.pipe2(os.O_CLOEXEC)
    go_r, go_w = os.pipe2(os.O_CLOEXEC)
    join_fd = os.open(plan.join_net, os.O_RDONLY | os.O_CLOEXEC) if plan.join_net else -1
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.close(go_w)
            _intermediate(plan, fds, w, go_r, join_fd, console)
        except BaseException as exc:
            _report(w, 125, _describe(exc))
        os._exit(125)
    for fd in (w, go_r, join_fd):
        if fd >= 0:
            os.close(fd)
    attach_error = ""
    try:
        data = _read_all(r, _attach(plan.cgroup_procs, go_w)).decode("utf-8", "replace")
    except OSError as exc:
        attach_error = f"cannot join the container's cgroups: {exc.strerror}"
        os.close(go_w)  # PID 1 sees EOF and exits
        data = _read_all(r).decode("utf-8", "replace")
    else:
        os.close(go_w)
    os.waitpid(pid, 0)
    pid1 = next((int(line[1:]) for line in data.splitlines() if line.startswith("P")), 0)
    error = next((line[1:] for line in data.splitlines() if line.startswith("E")), "")
    if attach_error and not error:
        error = f"125 {attach_error}"
    if error:
        code, _, message = error.partition(" ")
        if pid1:
            try:
                os.waitpid(pid1, 0)
            except ChildProcessError:
                pass
        raise StartFailed(int(code), message)
    if not pid1:
        raise StartFailed(125, "the container's init process did not start")
    return pid1
