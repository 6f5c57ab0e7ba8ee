"""Run a process in a running container: fork, become non-dumpable, join its cgroups, setns
ipc/uts/net/pid/mnt (mnt last, in a single-threaded child), fork again into the pid namespace, drop
privileges, exec (through the sealed entry program: :func:`.process.exec_command`).
"""

from __future__ import annotations

import fcntl
import os
import socket
import termios

from stackfile.runtime.linux import _libc as c
from stackfile.runtime.linux.caps import CapSets
from stackfile.runtime.linux.errors import StartFailed
from stackfile.runtime.linux.launch import _read_all, _report
from stackfile.runtime.linux.process import drop_privileges, exec_command, exec_failure, non_dumpable
from stackfile.runtime.linux.users import Identity

__all__ = ["ExecRequest", "exec_in"]

_NAMESPACES = (("ipc", c.CLONE_NEWIPC), ("uts", c.CLONE_NEWUTS), ("net", c.CLONE_NEWNET),
               ("pid", c.CLONE_NEWPID), ("mnt", c.CLONE_NEWNS))


class ExecRequest:
    """A resolved exec: argv, env, cwd, identity, capability sets, rlimits, seccomp filter."""

    def __init__(self, argv: tuple[str, ...], env: dict[str, str], cwd: str, identity: Identity,
                 caps: CapSets, no_new_privs: bool, seccomp: bytes | None = None,
                 ulimits: tuple[tuple[int, int, int], ...] = ()) -> None:
        self.argv, self.env, self.cwd = argv, env, cwd
        self.identity, self.caps, self.no_new_privs = identity, caps, no_new_privs
        self.seccomp, self.ulimits = seccomp, ulimits


def _inner(req: ExecRequest, fds: tuple[int, int, int], w: int) -> None:
    for target, fd in enumerate(fds):
        if fd != target:
            os.dup2(fd, target)
    try:
        drop_privileges(req.identity, req.caps, no_new_privs=req.no_new_privs, ulimits=req.ulimits,
                        seccomp=req.seccomp)
        exec_command(req.argv, req.env, req.cwd, w)
    except BaseException as exc:
        _report(w, 126, str(exc))
    os._exit(126)


def _child(pid1: int, cgroup_procs: list[str], req: ExecRequest, fds: tuple[int, int, int], w: int,
           detach: bool, console: socket.socket | None) -> None:
    non_dumpable()  # before any namespace: no /proc/PID/exe of the host's Python from inside
    ns_fds = [(os.open(f"/proc/{pid1}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC), flag)
              for name, flag in _NAMESPACES]
    for procs in cgroup_procs:
        with open(procs, "w") as fh:
            fh.write("0")
    for fd, flag in ns_fds:
        c.setns(fd, flag)
        os.close(fd)
    master = slave = -1
    if console is not None:
        master, slave = os.openpty()  # the container's /dev/ptmx: a pty of its own devpts
    pid = os.fork()
    if pid == 0:
        if detach or slave >= 0:
            os.setsid()
        if slave >= 0:
            os.close(master)
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            fds = (slave, slave, slave)
        _inner(req, fds, w)
    if console is not None:
        os.close(slave)
        socket.send_fds(console, [b"pty"], [master])
        os.close(master)
    os.write(w, b"P%d\n" % pid)
    if detach:
        os._exit(0)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


def exec_in(pid1: int, cgroup_procs: list[str], req: ExecRequest, fds: tuple[int, int, int], *,
            detach: bool = False, tty: bool = False, stdin_open: bool = False) -> int:
    """Run ``req`` in the namespaces of ``pid1``; returns its exit code (0 at once if ``detach``).

    With ``tty`` (and not ``detach``) the process gets a pty of the container's devpts, proxied
    to the caller's stdio. Raises :class:`StartFailed` if it could not be started (126/127).
    """
    ours, theirs = socket.socketpair() if tty and not detach else (None, None)
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            _child(pid1, cgroup_procs, req, fds, w, detach, theirs)
        except BaseException as exc:
            _report(w, 126, str(exc))
        os._exit(126)
    os.close(w)
    if theirs is not None:
        theirs.close()
    data = _read_all(r).decode("utf-8", "replace")
    error = exec_failure(data, req.argv[0])
    if ours is not None:
        with ours:
            _, got, _, _ = socket.recv_fds(ours, 16, 1) if not error else (b"", [], 0, None)
        if got:
            from stackfile.runtime.linux.ttyproxy import proxy

            try:
                proxy(got[0], stdin_open=stdin_open)
            finally:
                os.close(got[0])
    _, status = os.waitpid(pid, 0)
    if error:
        num, _, message = error.partition(" ")
        raise StartFailed(int(num), message)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code
