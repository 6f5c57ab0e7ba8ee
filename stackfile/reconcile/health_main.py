"""The detached health monitor of one container (see :mod:`stackfile.reconcile.health`).

``python -m stackfile.reconcile.health_main ROOT PROJECT CONTAINER_ID CONFIG_JSON``; started by
:func:`spawn`, it probes until the container stops, then exits. When the restart policy restarts the
container, the record starts over (``starting``) and the new process is probed, as Docker does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from stackfile.reconcile.health import (
    HealthConfig,
    HealthRecord,
    Probe,
    ProbeTimes,
    monotonic,
    read_health,
    write_health,
)
from stackfile.store.paths import StorePaths

__all__ = ["health_path", "main", "monitor", "monitor_alive", "run_probe", "spawn", "stop_monitor"]

OUTPUT_LIMIT = 4096


def health_path(paths: StorePaths, project: str, container_id: str) -> Path:
    """Where the monitor of ``container_id`` writes its :class:`HealthRecord`."""
    return paths.project(project) / "health" / f"{container_id}.json"


def spawn(paths: StorePaths, project: str, container_id: str, config: HealthConfig) -> int:
    """Start a detached monitor (new session, no stdio); returns its pid."""
    argv = [sys.executable, "-m", "stackfile.reconcile.health_main", str(paths.root), project,
            container_id, config.to_json()]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    return proc.pid


def _ours(pid: int, container_id: str) -> bool:
    try:
        return container_id.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def monitor_alive(paths: StorePaths, project: str, container_id: str) -> bool:
    """True when the container's monitor process is running (checked by its command line)."""
    record = read_health(health_path(paths, project, container_id))
    pid = record.monitor_pid if record is not None else 0
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if pid else b""
        if pid and not cmdline:  # just spawned: exec has not mapped its argv yet (or a zombie)
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        return bool(pid) and container_id.encode() in cmdline
    except (OSError, IndexError):
        return False


def stop_monitor(paths: StorePaths, project: str, container_id: str) -> None:
    """Stop the container's monitor (checked by its command line) and drop its record."""
    import signal

    path = health_path(paths, project, container_id)
    record = read_health(path)
    pid = record.monitor_pid if record is not None else 0
    if monitor_alive(paths, project, container_id):
        try:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 2.0
            while Path(f"/proc/{pid}/cmdline").exists() and _ours(pid, container_id):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    break
                time.sleep(0.01)
        except OSError:
            pass
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def run_probe(runtime: Any, container_id: str, config: HealthConfig) -> Probe:
    """Run the test once in the container with its output captured; a timeout is exit code -1."""
    from stackfile.runtime.api import ExecSpec

    start = time.time()
    with tempfile.TemporaryFile() as out:
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["code"] = runtime.exec(container_id, ExecSpec(argv=config.argv))
            except Exception as exc:  # the probe failed to run: that is an unhealthy result
                box["code"], box["error"] = 1, str(exc)

        thread = threading.Thread(target=target, daemon=True)
        try:
            thread.start()
            thread.join(config.timeout)
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        out.seek(0)
        output = out.read(OUTPUT_LIMIT).decode(errors="replace")
    if thread.is_alive():  # kill it, as Docker does, so hung probes do not pile up in the container
        _kill_probes(os.getpid(), container_id)
        thread.join(5.0)
        return Probe(start, time.time(), -1, f"health check exceeded timeout ({config.timeout:g}s)")
    return Probe(start, time.time(), int(box.get("code", 1)), output + box.get("error", ""))


def _kill_probes(parent: int, container_id: str) -> None:
    """SIGKILL the descendants of ``parent`` that are in the container's cgroup: the exec processes
    a probe forked (each joins the cgroup) and the probe commands they started inside."""
    import signal

    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    mark = f"/stackfile/{container_id}"
    todo = list(children.get(parent, ()))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, ())
        try:
            with open(f"/proc/{pid}/cgroup") as fh:
                if mark not in fh.read():
                    continue
            os.kill(pid, signal.SIGKILL)
        except OSError:  # gone meanwhile
            pass


def _health_event(root: str, status: Any, health: str) -> None:
    """Docker's ``health_status: healthy`` container event, with the container's attributes."""
    from stackfile.store import journal

    journal.record(root, "container", f"health_status: {health}", status.id,
                   {**dict(status.labels), "image": status.image, "name": status.name})


def monitor(runtime: Any, container_id: str, config: HealthConfig, path: Path, root: str = "") -> None:
    """Probe while the container (this incarnation of it) runs, writing the record after each probe;
    a change of status is journalled in the store at ``root`` (when given)."""
    pid = runtime.inspect(container_id).pid
    record = read_health(path)
    if record is None or record.container_pid != pid:
        record = HealthRecord(container_pid=pid or 0)
    record.monitor_pid = os.getpid()
    write_health(path, record)
    times = ProbeTimes(config, monotonic())
    while True:
        at, counts = times.next(record.status == "healthy", monotonic())
        time.sleep(max(0.0, at - monotonic()))
        try:
            status = runtime.inspect(container_id)
        except Exception:
            return
        state = getattr(status.state, "value", status.state)
        if state == "paused":
            continue
        if state == "restarting":
            continue
        if state != "running":
            return
        if status.pid != pid:  # restarted by its policy: a new process, health starts over
            pid = status.pid
            record = HealthRecord(container_pid=pid or 0, monitor_pid=os.getpid())
            write_health(path, record)
            times = ProbeTimes(config, monotonic())
            continue
        before = record.status
        record.record(run_probe(runtime, container_id, config), config, counts)
        write_health(path, record)
        if root and record.status != before and record.status in ("healthy", "unhealthy"):
            _health_event(root, status, record.status)


def main(argv: list[str]) -> int:
    root, project, container_id, config_json = argv
    from stackfile.runtime import get_runtime

    paths = StorePaths(Path(root))
    monitor(get_runtime(paths), container_id, HealthConfig.from_json(config_json),
            health_path(paths, project, container_id), root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
