"""The last steps before exec, shared by a container's PID 1 and ``exec``: limits, identity,
capabilities, no_new_privs, working directory, exec. Also the tiny reaping init for ``init: true``.

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
from stackfile.runtime.linux.users import Identity

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import (see stackfile/record.py)
if TYPE_CHECKING:
    import signal
else:  # signal's C core: signal.py only adds three enums, built at import (~0.5 ms of every run)
    import _signal as signal

__all__ = ["ExecFailed", "drop_privileges", "exec_command", "forwarded_signals", "parse_signal",
           "reap_as_init"]

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


def exec_command(argv: tuple[str, ...], env: Mapping[str, str], cwd: str) -> None:
    """chdir and execvpe with the container's PATH; raises :class:`ExecFailed` (127/126)."""
    try:
        os.chdir(cwd)
    except OSError as exc:
        raise ExecFailed(126, f"cannot change to working directory {cwd!r}: {exc.strerror}") from None
    try:
        if "/" in argv[0]:
            os.execve(argv[0], list(argv), dict(env))
        _execvpe(argv[0], list(argv), dict(env))
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            where = "" if "/" in argv[0] else " in $PATH"
            raise ExecFailed(127, f"exec: {argv[0]!r}: executable file not found{where}") from None
        raise ExecFailed(126, f"exec: {argv[0]!r}: {exc.strerror}") from None


def _execvpe(file: str, argv: list[str], env: dict[str, str]) -> None:
    """``os.execvpe`` (same search, same error raised) without ``os.get_exec_path``, which imports
    :mod:`warnings`: PID 1 runs this after pivot_root, where the host's modules cannot be imported."""
    path = env.get("PATH")
    saved: OSError | None = None
    last: OSError | None = None
    for folder in (os.defpath if path is None else path).split(os.pathsep):
        try:
            os.execve(os.path.join(folder, file), argv, env)
        except (FileNotFoundError, NotADirectoryError) as exc:
            last = exc
        except OSError as exc:
            last = exc
            saved = saved or exc
    raise saved or last or FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), file)


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
