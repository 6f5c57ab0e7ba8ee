"""An attached ``up`` as Compose v2 runs it: ``Attaching to …`` first; ``--abort-on-container-exit``
returns the code of the container that exited first and ``--exit-code-from`` that service's, while
the logs (and the ``exited with code`` lines) keep coming until every container has stopped; a
second ``up`` shows only its own run's output; a failed dependency's output is still shown."""

from __future__ import annotations

from tests.conftest import needs_root
from tests.integration.project.conftest import Project
from tests.integration.project.test_up_attached import busyboxes, said

pytestmark = needs_root

SERVER = "echo server up; exec sleep 1000"


def test_abort_on_container_exit_returns_the_exiting_services_code(project: Project) -> None:
    project.write(busyboxes(worker="echo working; sleep 0.5; exit 3", server=SERVER))
    proc = project.sf("up", "--no-color", "--abort-on-container-exit", check=False, timeout=60)
    assert proc.returncode == 3, proc.stderr
    lines = said(proc.stdout)
    assert lines[0] == "Attaching to server-1, worker-1"
    assert "worker-1 | working" in lines and "server-1 | server up" in lines
    assert "worker-1 exited with code 3" in lines
    assert "server-1 exited with code 137" in lines  # streamed on after the abort: killed by the stop
    assert "Aborting on container exit..." in proc.stderr


def test_exit_code_from_waits_for_that_service_when_another_exits_first(project: Project) -> None:
    """``quick`` exits 0 first and aborts the stack; the worker ignores SIGTERM (a shell as PID 1),
    says its last line during the stop and exits 3: Compose returns 3, with that line shown."""
    project.write(busyboxes(quick="echo quick", worker="echo working; sleep 2; echo done; exit 3",
                            server=SERVER).replace("    stop_signal: SIGKILL\n", "", 2))
    proc = project.sf("up", "--no-color", "--exit-code-from", "worker", "-t", "10", check=False, timeout=60)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    lines = said(proc.stdout)
    assert lines.index("quick-1 exited with code 0") < lines.index("worker-1 | done")
    assert lines.index("worker-1 | done") < lines.index("worker-1 exited with code 3")


def test_exit_code_from_a_service_that_exits_at_once(project: Project) -> None:
    project.write(busyboxes(once="exit 10", server=SERVER))
    proc = project.sf("up", "--no-color", "--exit-code-from", "once", check=False, timeout=60)
    assert proc.returncode == 10, proc.stderr
    assert "once-1 exited with code 10" in said(proc.stdout)


def test_without_abort_up_returns_0_when_all_have_exited(project: Project) -> None:
    project.write(busyboxes(one="exit 5"))
    proc = project.sf("up", "--no-color", check=False, timeout=60)
    assert proc.returncode == 0 and "one-1 exited with code 5" in said(proc.stdout)


def test_a_second_attached_up_shows_only_its_own_run(project: Project) -> None:
    project.write(busyboxes(job="echo run $(cat /proc/sys/kernel/random/uuid)"))
    def run_lines() -> list[str]:
        out = project.sf("up", "--no-color", timeout=60).stdout
        return [line for line in said(out) if line.startswith("job-1 | run")]

    first, second = run_lines(), run_lines()
    assert len(first) == 1 and len(second) == 1  # the new run's line, not the old one replayed
    assert first != second


def test_a_failed_dependency_still_shows_the_attached_stream(project: Project) -> None:
    project.write(busyboxes(dep="echo dep failing; exit 4", app="echo app") + """\
    depends_on:
      dep: {condition: service_completed_successfully}
""")
    proc = project.sf("up", "--no-color", check=False, timeout=60)
    assert proc.returncode != 0
    lines = said(proc.stdout)
    assert lines[0] == "Attaching to app-1, dep-1"
    assert lines[1:] == ["dep-1 | dep failing", "dep-1 exited with code 4"]
    assert 'service "dep" didn\'t complete successfully: exit 4' in proc.stderr  # Compose's words


def test_exit_code_from_a_service_not_started_fails_before_anything_runs(project: Project) -> None:
    project.write(busyboxes(one="exit 5", two="exit 6"))
    for flags in (("nope",), ("two", "one")):
        proc = project.sf("up", "--exit-code-from", *flags, check=False, timeout=60)
        assert proc.returncode != 0 and f"no such service: {flags[0]}" in proc.stderr
    assert project.ps() == {}  # as Compose: refused before a container is made
    detached = project.sf("up", "-d", "--abort-on-container-exit", check=False)
    assert detached.returncode == 2 and "--detach cannot be combined with" in detached.stderr
