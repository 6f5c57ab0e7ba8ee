"""The per-container supervisor: a detached process in the host's namespaces that outlives the CLI.

It starts the container, pumps its output into ``log.json``, records every state change, applies
the restart policy (exponential backoff, no restart after a stop request) and exits when the
container is done for good. It is started by :func:`spawn_shim`; ``shim_main`` is its program.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable

from stackfile.runtime.linux.logs import pump
from stackfile.runtime.linux.state import ContainerDir, State, peer_pid_lookup
from stackfile.runtime.linux.supervise import Run, backoff, should_restart

TYPE_CHECKING = False
if TYPE_CHECKING:
    from stackfile.runtime.api import RestartPolicy
    from stackfile.runtime.linux.launch import Launching

__all__ = ["Zygote", "release", "run_shim", "serve_zygote", "spawn_shim"]

_NOT_PREPARED = "-"  # a prepared shim's answer when it undid the preparation (start takes the full path)

_BOOT = ("import sys; sys.path[:0] = [sys.argv[1]]; "
         "from stackfile.runtime.linux.shim_main import main; main(sys.argv[2:])")


class Zygote:
    """One shim interpreter with its imports done that forks a shim per container it is given
    (id and a ready pipe over a unix socket): N starts cost one interpreter start and N forks.
    It exits when its socket closes (its starter went away)."""

    def __init__(self, store_root: str) -> None:
        import socket
        import subprocess
        import threading

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = _argv(store_root, "+", "-1", str(theirs.fileno()))
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, pass_fds=(theirs.fileno(),),
                                         start_new_session=True, cwd="/")
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.sock, self.lock = ours, threading.Lock()

    def start(self, container_id: str) -> str | None:
        """Start ``container_id`` under a forked shim: "" or ``<code> <message>``; None when the
        zygote is gone (the caller spawns a fresh shim)."""
        import socket

        ready_r, ready_w = os.pipe()
        try:
            with self.lock:
                socket.send_fds(self.sock, [container_id.encode()], [ready_w])
        except OSError:
            os.close(ready_r)
            return None
        finally:
            os.close(ready_w)
        return _read_ready(ready_r)

    def prepare(self, container_id: str) -> tuple[int, int] | None:
        """Have a forked shim prepare ``container_id`` up to PID 1's go point; returns (ready fd,
        gate fd) for :func:`release`, or None when the zygote is gone. Closing the gate without
        ``G`` (or our exit) makes the shim undo the preparation: the container stays created."""
        import socket

        ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
        gate_r, gate_w = os.pipe2(os.O_CLOEXEC)
        try:
            with self.lock:
                socket.send_fds(self.sock, [container_id.encode()], [ready_w, gate_r])
        except OSError:
            os.close(ready_r)
            os.close(gate_w)
            return None
        finally:
            os.close(ready_w)
            os.close(gate_r)
        return ready_r, gate_w

    def close(self) -> None:
        """Let the zygote exit (its forked shims live on)."""
        self.sock.close()
        self.proc.wait()


def release(handles: tuple[int, int]) -> str | None:
    """Start a container prepared by :meth:`Zygote.prepare`: "" or ``<code> <message>`` as a
    start; None when it was not prepared after all (the caller takes the full path)."""
    ready_r, gate_w = handles
    try:
        os.write(gate_w, b"G")
    except OSError:  # the shim is gone; its answer (or EOF) is in the ready pipe
        pass
    finally:
        os.close(gate_w)
    text = _read_ready(ready_r)
    return None if text == _NOT_PREPARED else text


def serve_zygote(sock_fd: int, start: Callable[[str, int, int], None]) -> None:
    """The zygote's loop: for each (id, ready fd[, gate fd]) received, fork a detached shim running
    ``start(id, ready_fd, gate_fd)`` (gate -1: start now); return when the socket closes."""
    import socket

    sock = socket.socket(fileno=sock_fd)
    while True:
        data, fds, _, _ = socket.recv_fds(sock, 256, 4)
        if not data:
            return
        pid = os.fork()
        if pid == 0:
            sock.close()
            os.setsid()
            if os.fork():
                os._exit(0)
            start(data.decode(), fds[0], fds[1] if len(fds) > 1 else -1)
            os._exit(0)
        for fd in fds:
            os.close(fd)
        os.waitpid(pid, 0)


def _read_ready(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    os.close(fd)
    text = b"".join(chunks).decode("utf-8", "replace").strip()
    if text.startswith("ok"):
        return ""
    return text or "125 the container supervisor exited before the container started"


def _argv(store_root: str, *rest: str) -> list[str]:
    here = os.path.abspath(__file__)  # <parent>/stackfile/runtime/linux/shim.py
    pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(here))))
    return [sys.executable, "-S", "-E", "-c", _BOOT, pkg_parent, store_root, *rest]


def spawn_shim(store_root: str, container_id: str) -> str:
    """Start the shim (a fresh interpreter without site, detached into its own session) and wait
    until PID 1 runs; returns "" or the start error as ``<code> <message>``."""
    import subprocess

    r, w = os.pipe()
    proc = subprocess.Popen(_argv(store_root, container_id, str(w)), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(w,),
                            start_new_session=True, cwd="/")
    os.close(w)
    text = _read_ready(r)
    proc.wait()
    return text


def _stdin(run: Run) -> int:
    """PID 1's standard input: ``/dev/null``, or with ``stdin_open`` the container's ``stdin``
    FIFO (what ``attach`` writes), held open read-write so that it never ends."""
    if not run.spec.process.stdin_open:
        return os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    path = run.cdir.sub("stdin")
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        pass
    return os.open(path, os.O_RDWR | os.O_CLOEXEC)


def _start(run: Run, state: State) -> tuple[int, dict[int, str], dict[int, int]]:
    """Start PID 1 with its output going to pipes (or to a pty made in the container); returns
    PID 1, the fds to pump (fd → stream) and the inputs to copy (the stdin FIFO → pty master)."""
    if run.spec.process.tty:
        pid, master = run.start_on_console(state)
        return pid, {master: "stdout"}, ({_stdin(run): master} if run.spec.process.stdin_open else {})
    null = _stdin(run)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        pid = run.start((null, out_w, err_w), supervisor=os.getpid(), state=state)
    except BaseException:
        os.close(out_r)
        os.close(err_r)
        raise
    finally:
        for fd in (out_w, err_w, null):
            os.close(fd)
    return pid, {out_r: "stdout", err_r: "stderr"}, {}


class _Prepared:
    """A PID 1 at its go point and the pipes its output will come out of."""

    def __init__(self, launching: Launching, sources: dict[int, str]) -> None:
        self.launching, self.sources = launching, sources

    def abandon(self, run: Run) -> None:
        """PID 1 exits at its go point; once it is reaped the cgroup is empty and is removed. Only
        removed: a start that has begun meanwhile (by the full path) may have joined it, and its
        processes are not ours to kill."""
        self.launching.abandon()
        for fd in self.sources:
            os.close(fd)
        run.remove_cgroup()


def _prepare(run: Run) -> _Prepared | None:
    """Fork PID 1 and let it build its rootfs up to its go point; None if anything failed (the
    start then takes the full path, which reports any error itself). Records nothing."""
    if run.spec.process.tty:
        return None
    try:
        null = _stdin(run)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
    except OSError:
        return None
    try:
        launching = run.begin((null, out_w, err_w), prepare=True)
    except Exception:
        os.close(out_r)
        os.close(err_r)
        return None
    finally:
        for fd in (out_w, err_w, null):
            os.close(fd)
    prepared = _Prepared(launching, {out_r: "stdout", err_r: "stderr"})
    if not launching.at_gate():
        prepared.abandon(run)
        return None
    return prepared


def _await_release(run: Run, prepared: _Prepared, gate: int) -> bool:
    """Wait for ``G`` on the gate; False (preparation undone) if the gate closes without it or
    PID 1 dies meanwhile (rm -f)."""
    import select

    poller = select.poll()
    poller.register(gate, select.POLLIN)
    poller.register(prepared.launching.r, select.POLLIN)
    while True:
        try:
            events = dict(poller.poll())
            break
        except InterruptedError:
            continue
    released = prepared.launching.r not in events and os.read(gate, 1) == b"G"
    os.close(gate)
    if released:
        return True
    prepared.abandon(run)
    return False


def _one_run(run: Run, state: State, ready: int | None, prepared: _Prepared | None = None) -> int | None:
    """Start once (``prepared``: let it exec) and pump logs until PID 1 is gone; None if the
    start failed."""
    try:
        inputs: dict[int, int] = {}
        if prepared is not None:
            pid = run.finish(prepared.launching, supervisor=os.getpid(), state=state)
            sources = prepared.sources
        else:
            pid, sources, inputs = _start(run, state)
    except Exception as exc:
        if ready is not None:
            os.write(ready, f"{getattr(exc, 'code', 125)} {getattr(exc, 'message', exc)}".encode())
        return None
    if ready is not None:
        os.write(ready, b"ok %d" % pid)
        os.close(ready)
    pump(sources, str(run.cdir.sub("log.json")), inputs)
    return run.reap(pid, state, lambda code: should_restart(_policy(run), code, state.restart_count,
                                                           run.cdir.stop_requested()))


def _policy(run: Run) -> RestartPolicy:
    """The restart policy as recorded now (``container update --restart`` may have changed it
    while the container ran)."""
    try:
        run.reload()
    except (OSError, ValueError):  # removed meanwhile: the policy it started with
        pass
    return run.spec.restart


def _sleep_unless_stopped(cdir: ContainerDir, delay: float) -> bool:
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        if cdir.stop_requested():
            return False
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    return not cdir.stop_requested()


def run_shim(cdir: ContainerDir, store_root: str, short_links: str, ready: int | None,
             gate: int = -1) -> None:
    """Supervise the container until it exits and the restart policy says it stays down; then
    remove it if it was started with ``auto_remove`` (``run -d --rm``).

    With a ``gate`` fd, first prepare it (PID 1 waits at its go point) and start only when ``G``
    comes; if the gate closes without it, undo the preparation, answer ``-`` and exit: the
    container stays created, as if nothing had happened."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    run = Run(cdir, store_root, short_links, peer_pid_lookup(cdir))
    prepared = None
    if gate >= 0:
        prepared = _prepare(run)
        if prepared is None or not _await_release(run, prepared, gate):
            if ready is not None:
                try:
                    os.write(ready, _NOT_PREPARED.encode())
                except OSError:
                    pass
            return
    started = _supervise(run, cdir, ready, prepared)
    if started and run.spec.on_exit and not cdir.stop_requested():
        _spawn_detached(run.spec.on_exit)
    if started and run.spec.auto_remove:
        from stackfile.runtime.linux.create import remove_dirs
        from stackfile.store.paths import StorePaths

        remove_dirs(StorePaths.at(store_root), cdir)


_HOOK_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


def _spawn_detached(argv: tuple[str, ...]) -> None:
    """Start ``argv`` in a session of its own with no stdio and a plain PATH, and do not wait."""
    try:
        os.posix_spawn(argv[0], list(argv), _HOOK_ENV, setsid=True, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, 1, 2)])
    except OSError:  # the hook is a courtesy (ports freed early); the next start or rm does it too
        pass


def _supervise(run: Run, cdir: ContainerDir, ready: int | None, prepared: _Prepared | None = None) -> bool:
    state = cdir.state()
    attempt = 0
    while True:
        began = time.monotonic()
        code = _one_run(run, state, ready, prepared)
        if code is None:
            return ready is None
        ready, prepared = None, None
        if state.status != "restarting":
            return True
        delay, attempt = backoff(attempt, time.monotonic() - began)
        if not _sleep_unless_stopped(cdir, delay):
            state.status = "exited"
            cdir.write_state(state)
            return True
        state.restart_count += 1
        try:
            run.reload()
        except (OSError, ValueError):  # removed meanwhile: the next start fails and says so
            pass
