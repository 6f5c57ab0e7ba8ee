"""Lifecycle with real containers: foreground exit codes, start errors that leave nothing behind,
OOM, the pids limit, stop grace, restart policies, logs, init, dead shims and complete removal."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from stackfile.errors import InvalidSpec
from stackfile.runtime.api import ContainerState, Process, Resources, RestartPolicy
from stackfile.runtime.linux.errors import StartFailed
from stackfile.runtime.linux.state import proc_start_time
from tests.conftest import needs_root
from tests.integration.runtime.rtsupport import Env, captured, cgroup_dirs, host_mounts_under

pytestmark = needs_root


def containers(env: Env) -> list[str]:
    return sorted(n for n in os.listdir(env.paths.containers) if not n.startswith("."))


def wait_for(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def assert_gone(env: Env, cid: str, pid: int | None = None) -> None:
    assert not env.paths.container(cid).exists()
    assert cgroup_dirs(cid) == []
    assert host_mounts_under(env.paths.root) == []
    if pid:  # gone, or at most a zombie for the host's init to reap
        wait_for(lambda: proc_start_time(pid) == 0)


def test_foreground_exit_code_output_and_auto_remove(env: Env) -> None:
    before = containers(env)
    with captured() as out:
        code = env.rt.run_attached(env.spec("echo hello; echo oops >&2; exit 3", auto_remove=True))
    assert code == 3
    assert out[0].split() == ["hello", "oops"]
    assert containers(env) == before


def test_missing_command_is_127_and_leaves_nothing(env: Env) -> None:
    before = containers(env)
    with pytest.raises(StartFailed) as err:
        env.rt.run_attached(env.spec("no-such-cmd", "arg", auto_remove=True))
    assert err.value.code == 127 and "no-such-cmd" in err.value.message
    assert containers(env) == before
    cid = env.rt.create(env.spec("/etc/passwd", "x"))  # exists, not executable
    with pytest.raises(StartFailed) as err:
        env.rt.start(cid)
    assert err.value.code == 126
    status = env.rt.inspect(cid)
    assert status.state is ContainerState.EXITED and status.exit_code == 126 and status.error
    assert cgroup_dirs(cid) == [] and host_mounts_under(env.paths.root) == []
    env.rt.remove(cid)
    assert_gone(env, cid)


def test_bad_user_and_workdir_refused_before_anything_exists(env: Env) -> None:
    before = containers(env)
    with pytest.raises(InvalidSpec, match="nosuchuser"):
        env.rt.create(env.spec("true", process=Process(argv=("true",), user="nosuchuser")))
    with pytest.raises(InvalidSpec, match="absolute"):
        env.rt.create(env.spec("true", process=Process(argv=("true",), cwd="relative/dir")))
    with pytest.raises(InvalidSpec, match="capability"):
        env.rt.create(env.spec("true", cap_add=("NOT_A_CAP",)))
    with pytest.raises(InvalidSpec, match="signal"):
        env.rt.create(env.spec("true", stop_signal="SIGNOPE"))
    assert containers(env) == before
    assert not os.path.exists(env.paths.containers / ".names" / "nosuchuser")


def test_oom_kill_is_reported(env: Env) -> None:
    cid = env.rt.create(env.spec("dd if=/dev/zero of=/dev/null bs=96M count=1",
                                 resources=Resources(memory=32 << 20)))
    env.rt.start(cid)
    assert env.rt.wait(cid, timeout=20) == 137
    status = env.rt.inspect(cid)
    assert status.oom_killed
    env.rt.remove(cid)
    assert_gone(env, cid)


def test_pids_limit_holds_a_fork_bomb(env: Env) -> None:
    cid = env.rt.create(env.spec("for i in $(seq 40); do (sleep 30 &) 2>/dev/null || echo refused; done; "
                                 "echo done; exec sleep 30", resources=Resources(pids_limit=20)))
    env.rt.start(cid)
    wait_for(lambda: any(line.text == "done" for line in env.rt.logs(cid)))
    assert 10 < len(env.rt.top(cid)) <= 20
    assert "refused" in [line.text for line in env.rt.logs(cid)]
    pid = env.rt.inspect(cid).pid
    env.rt.remove(cid, force=True)
    assert_gone(env, cid, pid)


def test_stop_with_grace_then_kill(env: Env) -> None:
    polite = env.rt.create(env.spec("trap 'echo bye; exit 3' TERM; echo up; while true; do sleep 0.05; done"))
    stubborn = env.rt.create(env.spec("sleep", "100", stop_grace_seconds=0.4))
    env.rt.start(polite)
    env.rt.start(stubborn)
    wait_for(lambda: [line.text for line in env.rt.logs(polite)] == ["up"])
    t0 = time.monotonic()
    env.rt.stop(polite, timeout=5)
    assert time.monotonic() - t0 < 3
    assert env.rt.inspect(polite).exit_code == 3
    assert [line.text for line in env.rt.logs(polite)] == ["up", "bye"]
    t0 = time.monotonic()
    env.rt.stop(stubborn)  # sleep as PID 1 ignores SIGTERM: killed after the grace period
    assert 0.35 < time.monotonic() - t0 < 5
    assert env.rt.inspect(stubborn).exit_code == 137
    for cid in (polite, stubborn):
        env.rt.remove(cid)
        assert_gone(env, cid)


@pytest.mark.parametrize(("policy", "script", "restarts", "code"), [
    (RestartPolicy("no"), "exit 1", 0, 1),
    (RestartPolicy("on-failure", 2), "exit 4", 2, 4),
    (RestartPolicy("on-failure"), "exit 0", 0, 0),
])
def test_restart_policies_that_end(env: Env, policy: RestartPolicy, script: str, restarts: int,
                                   code: int) -> None:
    cid = env.rt.create(env.spec(f"echo run; {script}", restart=policy))
    env.rt.start(cid)
    assert env.rt.wait(cid, timeout=10) == code
    status = env.rt.inspect(cid)
    assert status.restart_count == restarts and status.state is ContainerState.EXITED
    assert [line.text for line in env.rt.logs(cid)] == ["run"] * (restarts + 1)
    env.rt.remove(cid)


@pytest.mark.parametrize("name", ["always", "unless-stopped"])
def test_restart_policies_that_run_until_stopped(env: Env, name: str) -> None:
    cid = env.rt.create(env.spec("echo run; exit 0", restart=RestartPolicy(name)))  # type: ignore[arg-type]
    env.rt.start(cid)
    wait_for(lambda: env.rt.inspect(cid).restart_count >= 2)
    env.rt.stop(cid, timeout=1)
    count = env.rt.inspect(cid).restart_count
    time.sleep(0.5)
    status = env.rt.inspect(cid)
    assert status.state is ContainerState.EXITED and status.restart_count == count
    env.rt.remove(cid)
    assert_gone(env, cid)


def test_logs_complete_ordered_tail_since_follow(env: Env) -> None:
    cid = env.rt.create(env.spec("seq 1 3000; sleep 0.1; echo err >&2; sleep 0.3; echo late"))
    env.rt.start(cid)
    followed = [line.text for line in env.rt.logs(cid, follow=True)]
    assert followed[:3000] == [str(i) for i in range(1, 3001)]
    assert followed[3000:] == ["err", "late"]
    lines = list(env.rt.logs(cid))
    assert [line.stream for line in lines[-2:]] == ["stderr", "stdout"]
    assert [line.time for line in lines] == sorted(line.time for line in lines)
    assert [line.text for line in env.rt.logs(cid, tail=2)] == ["err", "late"]
    assert [line.text for line in env.rt.logs(cid, since=lines[-1].time)] == ["late"]
    with open(env.paths.container(cid) / "log.json") as fh:
        first = fh.readline()
    assert first.startswith('{"time": "') and first.endswith('"stream": "stdout", "log": "1\\n"}\n')
    env.rt.remove(cid)


def test_init_reaps_forwards_signals_and_passes_the_exit_code(env: Env) -> None:
    with captured() as out:
        script = ("(sleep 0.1 &); sleep 0.4; ps -o stat,comm | grep -c Z; "
                  "tr '\\0' ' ' < /proc/1/cmdline; exit 9")
        code = env.rt.run_attached(env.spec(script, init=True, auto_remove=True))
    assert code == 9
    assert out[0].split()[:2] == ["0", "/sbin/init"]  # the orphaned sleep was reaped; no host argv shown
    cid = env.rt.create(env.spec("sleep", "100", init=True))
    env.rt.start(cid)
    t0 = time.monotonic()
    env.rt.stop(cid, timeout=5)  # SIGTERM reaches sleep through the init
    assert time.monotonic() - t0 < 2
    assert env.rt.inspect(cid).exit_code == 143
    env.rt.remove(cid)


def test_dead_shim_is_reported_and_rm_cleans_everything(env: Env) -> None:
    cid = env.rt.create(env.spec("sleep", "100"))
    env.rt.start(cid)
    state = env.paths.container(cid) / "state.json"
    import json

    shim = json.loads(state.read_text())["supervisor"]
    pid = env.rt.inspect(cid).pid
    os.kill(shim, signal.SIGKILL)
    wait_for(lambda: env.rt.inspect(cid).state is ContainerState.DEAD)
    env.rt.start(cid)  # a new supervisor; the orphaned PID 1 is ended first
    assert proc_start_time(pid) == 0  # gone (or a zombie for the host's init)
    assert env.rt.inspect(cid).state is ContainerState.RUNNING
    pid = env.rt.inspect(cid).pid
    env.rt.remove(cid, force=True)
    assert_gone(env, cid, pid)


def test_parallel_foreground_runs_from_threads(env: Env) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> int:
        return env.rt.run_attached(env.spec(f"exit {i}", auto_remove=True))

    before = containers(env)
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(one, range(8))) == list(range(8))
    assert containers(env) == before


def test_concurrent_starts_make_one_supervisor(env: Env) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cid = env.rt.create(env.spec("sleep", "100"))
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: env.rt.start(cid), range(3)))

    def cmdline(pid: str) -> bytes:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return b""

    shims = [p for p in os.listdir("/proc") if p.isdigit() and b"shim_main" in cmdline(p)
             and cid.encode() in cmdline(p)]
    assert len(shims) == 1
    assert env.rt.inspect(cid).state is ContainerState.RUNNING and len(env.rt.top(cid)) == 1
    env.rt.remove(cid, force=True)


def test_logs_keep_a_last_line_without_newline(env: Env) -> None:
    """The pump flushes a final partial line at EOF, from pipes and from a pty."""
    for tty in (False, True):
        cid = env.rt.create(env.spec(process=Process(argv=("sh", "-c", "echo a; printf last"), tty=tty)))
        try:
            env.rt.start(cid)
            assert env.rt.wait(cid, timeout=10) == 0
            texts = [line.text.rstrip("\r") for line in env.rt.logs(cid)]
            assert texts == ["a", "last"]
            assert [line.text.rstrip("\r") for line in env.rt.logs(cid, follow=True)] == texts
        finally:
            env.rt.remove(cid, force=True)


def test_prewarmed_starts_and_fast_restart(env: Env) -> None:
    """A zygote forks the shims of the next starts; they supervise like cold ones, show their
    container in ps, survive the zygote; a restart keeps the container id and starts it again."""
    ids = [env.rt.create(env.spec("sleep", "100", stop_signal="SIGKILL")) for _ in range(3)]
    env.rt.prewarm(3)
    zygote = env.rt._zygote
    assert zygote is not None
    try:
        for cid in ids:
            env.rt.start(cid)
        env.rt.discard_warm()
        assert zygote.proc.poll() is not None and env.rt._zygote is None
        for cid in ids:
            state = env.rt._dir(cid).state()
            cmdline = Path(f"/proc/{state.supervisor}/cmdline").read_bytes()
            assert b"shim_main" in cmdline and cid.encode() in cmdline
            assert env.rt.inspect(cid).state is ContainerState.RUNNING and len(env.rt.top(cid)) == 1
        first = env.rt.inspect(ids[0]).pid
        env.rt.restart(ids[0], timeout=1)
        again = env.rt.inspect(ids[0])
        assert again.state is ContainerState.RUNNING and again.pid != first
        env.rt.stop(ids[1], timeout=1)
        assert env.rt.inspect(ids[1]).state is ContainerState.EXITED
    finally:
        env.rt.discard_warm()
        for cid in ids:
            env.rt.remove(cid, force=True)
