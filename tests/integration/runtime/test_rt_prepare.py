"""Prepared starts (``up``'s create/start split): a container prepared by a zygote's shim waits at
its PID 1's go point; its start is the exec. It must give exactly what an unprepared start gives,
and a preparation that is never started (or fails) must leave the container created, with no
process, cgroup or mount behind."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from stackfile.runtime.api import ContainerState, NetworkAttachment, Process, RestartPolicy
from stackfile.runtime.linux.errors import StartFailed
from stackfile.runtime.linux.runtime import LinuxRuntime
from tests.conftest import needs_root, processes_of
from tests.integration.runtime.rtsupport import Env, cgroup_dirs, host_mounts_under

pytestmark = needs_root


def wait_for(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def at_gate(cid: str) -> bool:
    """The prepared PID 1 exists (it is in the container's cgroup)."""
    return any(d.exists() for d in cgroup_dirs(cid)) and bool(processes_of(cid))


def left_nothing(env: Env, cid: str) -> bool:
    return not processes_of(cid) and cgroup_dirs(cid) == [] and host_mounts_under(env.paths.root) == []


@pytest.fixture()
def warm(env: Env) -> Iterator[LinuxRuntime]:
    """A runtime of the same store with a zygote, as ``up`` has."""
    rt = LinuxRuntime(env.paths)
    rt.prewarm(1)
    try:
        yield rt
    finally:
        rt.discard_prepared()
        rt.discard_warm()


def outcome(rt: LinuxRuntime, cid: str) -> tuple[object, ...]:
    """What a start gives: the error (code, message) or None, then the recorded end state and logs."""
    try:
        rt.start(cid)
        error = None
    except StartFailed as exc:
        error = (exc.code, exc.message)
    rt.wait(cid, timeout=10)
    st = rt.inspect(cid)
    return (error, st.state, st.exit_code, st.error, st.restart_count,
            [(line.stream, line.text) for line in rt.logs(cid)])


@pytest.mark.parametrize("process", [
    Process(argv=("sh", "-c", "echo out; echo err >&2; exit 3")),
    Process(argv=("sh", "-c", "echo $FOO in $PWD as $(id -u)"), env={"FOO": "bar"}, cwd="/tmp", user="1000"),
    Process(argv=("no-such-cmd", "arg")),
    Process(argv=("/no/such/cmd",)),
    Process(argv=("/etc/passwd", "x")),
    Process(argv=("true",), cwd="/no/such/dir"),
], ids=["exit3", "env-cwd-user", "127-path", "127-abs", "126", "bad-workdir"])
@pytest.mark.parametrize("init", [False, True])
def test_prepared_start_gives_what_a_start_gives(env: Env, warm: LinuxRuntime, process: Process,
                                                init: bool) -> None:
    plain = env.rt.create(env.spec("", process=process, init=init))
    prepared = warm.create(env.spec("", process=process, init=init))
    warm.prepare(prepared)
    wait_for(lambda: at_gate(prepared))
    assert warm.inspect(prepared).state is ContainerState.CREATED  # prepared is still created
    try:
        expected = outcome(env.rt, plain)
        assert outcome(warm, prepared) == expected
        assert expected[0] is None or expected[0][0] in (126, 127)
    finally:
        env.rt.remove(plain, force=True)
        warm.remove(prepared, force=True)
    wait_for(lambda: left_nothing(env, prepared))


def test_gate_closed_without_go_leaves_it_created_and_it_starts_later(env: Env, warm: LinuxRuntime) -> None:
    cid = warm.create(env.spec("echo hi; sleep 30"))
    warm.prepare(cid)
    wait_for(lambda: at_gate(cid))
    warm.discard_prepared()  # the caller gives up (as up does after a failure or Ctrl-C)
    wait_for(lambda: left_nothing(env, cid))
    st = warm.inspect(cid)
    assert st.state is ContainerState.CREATED and st.pid is None and st.started_at is None
    assert not os.path.exists(env.paths.container(cid) / "state.json")
    try:
        warm.start(cid)  # the full path
        assert warm.inspect(cid).state is ContainerState.RUNNING
        wait_for(lambda: [line.text for line in warm.logs(cid)] == ["hi"])
    finally:
        warm.remove(cid, force=True)
    wait_for(lambda: left_nothing(env, cid))


def test_caller_exit_undoes_the_preparation(env: Env) -> None:
    """The gate's writer is the caller: when it dies without a start, the shim undoes it all."""
    cid = env.rt.create(env.spec("echo hi"))
    pid = os.fork()
    if pid == 0:
        try:
            rt = LinuxRuntime(env.paths)
            rt.prewarm(1)
            rt.prepare(cid)
            while not at_gate(cid):
                time.sleep(0.01)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    try:
        wait_for(lambda: left_nothing(env, cid))
        assert env.rt.inspect(cid).state is ContainerState.CREATED
        env.rt.start(cid)
        assert env.rt.wait(cid, timeout=10) == 0
        assert [line.text for line in env.rt.logs(cid)] == ["hi"]
    finally:
        env.rt.remove(cid, force=True)


def test_rm_force_of_a_prepared_container_leaves_nothing(env: Env, warm: LinuxRuntime) -> None:
    for remover in (warm, env.rt):  # by the preparing runtime, and by another process's
        cid = warm.create(env.spec("sleep 30"))
        warm.prepare(cid)
        wait_for(lambda: at_gate(cid))  # noqa: B023
        remover.remove(cid, force=True)
        wait_for(lambda: left_nothing(env, cid))  # noqa: B023
        assert not env.paths.container(cid).exists()
    warm.discard_prepared()


def test_stop_and_kill_of_a_prepared_container_are_as_for_a_created_one(env: Env, warm: LinuxRuntime) -> None:
    from stackfile.errors import Conflict

    cid = warm.create(env.spec("echo hi"))
    warm.prepare(cid)
    wait_for(lambda: at_gate(cid))
    try:
        with pytest.raises(Conflict, match="is not running"):
            env.rt.kill(cid)
        env.rt.stop(cid)
        assert warm.inspect(cid).state is ContainerState.CREATED
        warm.start(cid)  # a start clears the stop request, as always
        assert warm.wait(cid, timeout=10) == 0
        assert [line.text for line in warm.logs(cid)] == ["hi"]
    finally:
        warm.remove(cid, force=True)
    wait_for(lambda: left_nothing(env, cid))


def test_restart_policy_of_a_prepared_start(env: Env, warm: LinuxRuntime) -> None:
    cid = warm.create(env.spec("echo run; exit 1", restart=RestartPolicy("on-failure", 2)))
    warm.prepare(cid)
    wait_for(lambda: at_gate(cid))
    try:
        warm.start(cid)
        wait_for(lambda: warm.inspect(cid).state is ContainerState.EXITED
                 and warm.inspect(cid).restart_count == 2)
        assert warm.inspect(cid).exit_code == 1
        assert [line.text for line in warm.logs(cid)] == ["run"] * 3
    finally:
        warm.remove(cid, force=True)
    wait_for(lambda: left_nothing(env, cid))


def test_a_preparation_that_fails_takes_the_full_path_at_start(env: Env, warm: LinuxRuntime) -> None:
    """Joining the network of a container that runs only later: the preparation fails (the peer
    is not running yet), and the start, made once it runs, succeeds by the full path."""
    peer = warm.create(env.spec("sleep 30"))
    joiner = warm.create(env.spec("echo joined", network=NetworkAttachment(mode="container",
                                                                           container_id=peer)))
    warm.prepare(joiner)
    try:
        time.sleep(0.3)  # its shim tried and gave up, leaving nothing
        wait_for(lambda: left_nothing(env, joiner))
        assert warm.inspect(joiner).state is ContainerState.CREATED
        with pytest.raises(StartFailed, match="it is not running") as err:
            env.rt.start(joiner)  # today's error, by today's path
        assert err.value.code == 125
        env.rt.remove(joiner, force=True)
        joiner = warm.create(env.spec("echo joined", network=NetworkAttachment(mode="container",
                                                                               container_id=peer)))
        warm.prepare(joiner)
        time.sleep(0.3)
        warm.start(peer)
        warm.start(joiner)
        assert warm.wait(joiner, timeout=10) == 0
        assert [line.text for line in warm.logs(joiner)] == ["joined"]
    finally:
        warm.remove(joiner, force=True)
        warm.remove(peer, force=True)
    wait_for(lambda: left_nothing(env, joiner) and left_nothing(env, peer))


def test_a_tty_container_is_not_prepared_and_starts_as_ever(env: Env, warm: LinuxRuntime) -> None:
    cid = warm.create(env.spec("", process=Process(argv=("sh", "-c", "tty; exit 4"), tty=True)))
    warm.prepare(cid)
    try:
        warm.start(cid)
        assert warm.wait(cid, timeout=10) == 4
        assert [line.text.strip() for line in warm.logs(cid)] == ["/dev/pts/0"]
    finally:
        warm.remove(cid, force=True)
    wait_for(lambda: left_nothing(env, cid))
