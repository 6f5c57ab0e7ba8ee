"""The last steps before exec, shared by a container's PID 1 and ``exec``: limits, identity,
capabilities, no_new_privs, working directory, descriptors, signals, exec (through the sealed entry
program of :mod:`.entry`). Also the tiny reaping init for ``init: true``.

These run in forked children after pivot_root, so nothing here may import lazily.
"""

from __future__ import annotations

import errno
import os
import resource
from collections.abc import Mapping

from stackfile.errors import InvalidSpec
from stackfile.runtime.linux import _libc as c
from stackfile.runtime.linux.caps import CapSets, last_cap
from stackfile.runtime.linux.entry import REPORT_FD, available, exec_via_entry
from stackfile.runtime.linux.users import Identity

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import (see stackfile/record.py)
if TYPE_CHECKING:
    import signal
    from typing import NoReturn
else:  # signal's C core: signal.py only adds three enums, built at import (~0.5 ms of every run)
    import _signal as signal

__all__ = ["ExecFailed", "drop_privileges", "exec_command", "exec_failure", "forwarded_signals",
           "non_dumpable", "parse_signal", "reap_as_init"]

_NOT_FORWARDED = {signal.SIGCHLD, signal.SIGKILL, signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN,
                  signal.SIGTTOU}


class ExecFailed(Exception):
    """exec failed: ``code`` is 127 (not found) or 126 (cannot be run)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def drop_privileges(identity: Identity, caps: CapSets, *, no_new_privs: bool,
                    ulimits: tuple[tuple[int, int, int], ...] = (), seccomp: bytes | None = None) -> None:
    """Apply rlimits, shrink the bounding set, switch user, set the capability sets, then
    no_new_privs and the seccomp filter (last: the filter may deny calls made before it)."""
    for which, soft, hard in ulimits:
        resource.setrlimit(which, (soft, hard))
    for cap in range(last_cap() + 1):  # the caps past it fail with EINVAL (each a costly OSError)
        if not caps.bounding >> cap & 1:
            try:
                c.prctl(c.PR_CAPBSET_DROP, cap)
            except OSError as exc:
                if exc.errno != errno.EINVAL:  # a kernel that knows fewer than cap_last_cap says
                    raise
    if identity.uid != 0:
        c.prctl(c.PR_SET_KEEPCAPS, 1)
    os.setgroups(list(identity.groups))
    os.setgid(identity.gid)
    os.setuid(identity.uid)
    held = c.capget()[1]  # never ask for more than we hold (a privileged run in a restricted host)
    c.capset(caps.effective & held, caps.permitted & held, caps.inheritable & held)
    for cap in range(64):
        if (caps.ambient & held) >> cap & 1:
            c.prctl(c.PR_CAP_AMBIENT, c.PR_CAP_AMBIENT_RAISE, cap)
    if no_new_privs:
        c.prctl(c.PR_SET_NO_NEW_PRIVS, 1)
    if seccomp is not None:
        c.seccomp_filter(seccomp)


def non_dumpable() -> None:
    """PR_SET_DUMPABLE 0: from inside a container, ``/proc/PID/exe`` (the host's interpreter) and
    the rest of ``/proc/PID`` of the caller cannot be opened without CAP_SYS_PTRACE. Call it
    before joining any of a container's namespaces; the final exec makes the process dumpable."""
    c.prctl(c.PR_SET_DUMPABLE, 0)


def exec_command(argv: tuple[str, ...], env: Mapping[str, str], cwd: str, report: int) -> NoReturn:
    """chdir, keep only fds 0-2, restore default signals, exec with the container's PATH; never returns.

    The exec goes through the sealed entry program (:mod:`.entry`), which reports a failure to
    exec on ``report`` (moved to fd 3, close-on-exec) as ``x<errno>``; read it with
    :func:`exec_failure`. A failure before that is reported as ``E<code> <message>``. Exit 127
    (not found) or 126 after a failure.
    """
    try:
        os.chdir(cwd)
        paths = _candidates(argv[0], env)
    except ExecFailed as exc:
        _fail(report, exc.code, str(exc))
    except OSError as exc:
        _fail(report, 126, f"cannot change to working directory {cwd!r}: {exc.strerror}")
    _only_stdio_and(report)
    _default_signals()
    if available():
        exec_via_entry(paths, list(argv), dict(env))
    os.set_inheritable(REPORT_FD, False)  # a direct exec: the pipe must close with it
    try:
        _execve_first(paths, list(argv), dict(env))
    except OSError as exc:
        code, message = _exec_error(argv[0], exc.errno or errno.ENOEXEC)
        _fail(REPORT_FD, code, message)


def exec_failure(data: str, argv0: str) -> str:
    """The error (``"<code> <message>"``) in a report pipe's ``data``, or "" if the exec succeeded."""
    for line in data.splitlines():
        if line.startswith("E"):
            return line[1:]
        if line.startswith("x") and line[1:].isdigit():
            code, message = _exec_error(argv0, int(line[1:]))
            return f"{code} {message}"
    return ""


def _exec_error(argv0: str, err: int) -> tuple[int, str]:
    if err in (errno.ENOENT, errno.ENOTDIR):
        where = "" if "/" in argv0 else " in $PATH"
        return 127, f"exec: {argv0!r}: executable file not found{where}"
    return 126, f"exec: {argv0!r}: {os.strerror(err)}"


def _fail(report: int, code: int, message: str) -> NoReturn:
    try:
        os.write(report, f"E{code} {message}\n".encode())
    except OSError:
        pass
    os._exit(code)


def _candidates(file: str, env: Mapping[str, str]) -> list[str]:
    """Where ``os.execvpe`` would look for ``file``, in order (without ``os.get_exec_path``, which
    imports :mod:`warnings`: PID 1 runs this after pivot_root, where host modules cannot be imported)."""
    if not file:
        raise ExecFailed(127, "exec: '': executable file not found in $PATH")
    if "/" in file:
        return [file]
    path = env.get("PATH")
    return [os.path.join(folder, file) for folder in (os.defpath if path is None else path).split(os.pathsep)]


def _only_stdio_and(report: int) -> None:
    """Move ``report`` to fd 3 (inherited: the entry program marks it close-on-exec) and close
    every other descriptor above 2, whatever the launching process left open."""
    if report == REPORT_FD:
        os.set_inheritable(REPORT_FD, True)
    else:
        os.dup2(report, REPORT_FD)
    os.closerange(REPORT_FD + 1, _FD_LIMIT)


_FD_LIMIT = 0x7FFFFFFF  # close_range(2) up to INT_MAX: one call, whatever RLIMIT_NOFILE is


def _default_signals() -> None:
    """Docker's start: every signal at its default disposition (ignored ones survive exec; the
    host's Python ignores SIGPIPE and SIGXFSZ, its callers SIGINT and SIGHUP) and none blocked."""
    for sig in signal.valid_signals():
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            try:
                signal.signal(sig, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def _execve_first(paths: list[str], argv: list[str], env: dict[str, str]) -> NoReturn:
    """``os.execvpe``'s search over ``paths``: raises the first error other than not-found, else the last."""
    saved: OSError | None = None
    last: OSError | None = None
    for path in paths:
        try:
            os.execve(path, argv, env)
        except (FileNotFoundError, NotADirectoryError) as exc:
            last = exc
        except OSError as exc:
            last = exc
            saved = saved or exc
    raise saved or last or FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), argv[0])


def parse_signal(name: str | int) -> int:
    """``SIGTERM``, ``TERM``, ``15`` → 15; :class:`InvalidSpec` otherwise."""
    text = str(name).strip().upper()
    if text.isdigit() and 0 < int(text) < signal.NSIG:
        return int(text)
    number = _signal_numbers().get("SIG" + text.removeprefix("SIG"))
    if number is None:
        raise InvalidSpec(f"unknown signal {name!r}", hint="use a name like SIGTERM or a number")
    return number


def _signal_numbers() -> dict[str, int]:
    """The names ``signal.Signals`` has (aliases included), from the same source and filter."""
    return {key: value for key, value in vars(signal).items()
            if key.isupper() and key.startswith("SIG") and not key.startswith("SIG_")}


def forwarded_signals() -> set[int]:
    """The signals the init passes on to its child."""
    return {int(s) for s in signal.valid_signals()} - {int(s) for s in _NOT_FORWARDED}


def reap_as_init(child: int, mask: set[int]) -> None:
    """PID 1 of ``init: true``: forward signals to ``child``, reap everything, exit with its code.

    The caller blocked the forwarded signals before forking ``child``; they are unblocked (set back
    to ``mask``) once the handlers are in place, so none is lost in between.
    """

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for sig in forwarded_signals():
        try:
            signal.signal(sig, forward)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if pid == child:
            os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status)
                     else 128 + os.WTERMSIG(status))
