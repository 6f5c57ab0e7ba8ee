"""Foreground work done by the caller itself, without a shim: ``run`` without ``-d``, and ``exec``."""

from __future__ import annotations

import os

from stackfile.runtime.api import ExecSpec
from stackfile.runtime.linux import cgroups
from stackfile.runtime.linux.caps import cap_sets
from stackfile.runtime.linux.plan import container_env, seccomp_for, ulimits_for
from stackfile.runtime.linux.specjson import spec_from_dict
from stackfile.runtime.linux.state import ContainerDir, State, peer_pid_lookup
from stackfile.runtime.linux.supervise import Run
from stackfile.runtime.linux.users import read_etc_file, resolve_user
from stackfile.store.paths import StorePaths

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import (see stackfile/record.py)
if TYPE_CHECKING:
    import signal
else:  # signal's C core: signal.py only adds three enums, built at import (~0.5 ms of every run)
    import _signal as signal

__all__ = ["FORWARDED", "exec_attached", "run_foreground"]

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
             signal.SIGWINCH)


def _forward_to(pid: int) -> dict[int, object]:
    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    try:
        return {sig: signal.signal(sig, forward) for sig in FORWARDED}
    except ValueError:  # not the main thread (a builder running RUN steps in parallel): no forwarding
        return {}


def run_foreground(paths: StorePaths, cdir: ContainerDir, stdio: tuple[int, int, int] | None = None) -> int:
    """Start the created container with the caller's stdio, forward signals, wait, record the exit.

    A tty container gets a pty of its own, proxied to the caller's terminal (:mod:`.ttyproxy`).
    With ``stdio`` (a daemon serving an attached run: its pipes) the container gets those
    descriptors, and neither a pty nor signal forwarding.
    """
    run = Run(cdir, paths.root_str, paths.short_links_str, peer_pid_lookup(cdir))
    state = cdir.state()
    if stdio is not None:
        return run.reap(run.start(stdio, supervisor=os.getpid(), state=state), state)
    if run.spec.process.tty:
        return _run_tty(run, state)
    null = -1 if run.spec.process.stdin_open else os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    try:
        pid = run.start((0 if null < 0 else null, 1, 2), supervisor=os.getpid(), state=state)
    finally:
        if null >= 0:
            os.close(null)
    previous = _forward_to(pid)
    try:
        return run.reap(pid, state)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def _run_tty(run: Run, state: State) -> int:
    from stackfile.runtime.linux.ttyproxy import proxy

    pid, master = run.start_on_console(state)
    previous = _forward_to(pid)
    try:
        proxy(master, stdin_open=run.spec.process.stdin_open)
        return run.reap(pid, state)
    finally:
        os.close(master)
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def exec_attached(cdir: ContainerDir, pid1: int, spec: ExecSpec,
                  stdio: tuple[int, int, int] | None = None) -> int:
    """Run ``spec`` in the container whose PID 1 is ``pid1`` with the caller's stdio (or ``stdio``)."""
    from stackfile.runtime.linux.exec import ExecRequest, exec_in

    cspec = spec_from_dict(cdir.config()["spec"])
    roots = (f"/proc/{pid1}/root",)
    identity = resolve_user(spec.user or cspec.process.user, read_etc_file(roots, "passwd"),
                            read_etc_file(roots, "group"))
    env = {**container_env(cspec, cdir.config()["hostname"], identity.home), **spec.env}
    privileged = spec.privileged or cspec.privileged
    req = ExecRequest(spec.argv, env, spec.cwd or cspec.process.cwd or "/", identity,
                      cap_sets(cspec.cap_add, cspec.cap_drop, privileged=privileged, root=identity.uid == 0),
                      no_new_privs=not privileged, seccomp=None if spec.privileged else seccomp_for(cspec),
                      ulimits=ulimits_for(cspec))
    cg = cgroups.for_container(cdir.id)
    null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
    try:
        fds = (null, null, null) if spec.detach else stdio or (0 if spec.stdin_open else null, 1, 2)
        return exec_in(pid1, cg.join_files() or cg.procs_files(), req, fds, detach=spec.detach,
                       tty=spec.tty, stdin_open=spec.stdin_open)
    finally:
        os.close(null)
