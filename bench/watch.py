"""Hot-reload latency on the quickstart example: save → new content in the container, save → restarted.

stackfile: ``examples/quickstart`` plus an override giving its ``web`` service a ``sync`` rule
(``web/`` → ``/www``, served by busybox httpd) and a ``sync+restart`` rule (``conf/`` → ``/etc/web``),
brought up and watched through the engine (``run_watch``: ``up`` then watch). Each edit is an
editor-style save (temp file + rename); the clock starts just before the save and stops when the new
content is read back, through the container's root (``/proc/<pid>/root``) and over HTTP on the
published port; a restart counts when the container's start time changed and it answers again.
Compose v2 runs the same files (``docker compose up -d`` + ``watch``) in the same run when dockerd and
docker-compose-v2 are there, measured over HTTP the same way.

Run as root:  python3 bench/watch.py [--edits 200] [--restarts 30] [--compose-edits 40]"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stackfile.runtime.api import Runtime

COMPOSE = "/var/tmp/peers/bin/docker-compose-v2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(port: int, path: str) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=1.0) as resp:
            return resp.read().decode()
    except OSError:
        return None


def save(path: Path, text: str) -> None:
    """An editor's atomic save: write a temp file beside the target, then rename over it."""
    tmp = path.with_name(f".{path.name}.swpx")
    tmp.write_text(text)
    os.rename(tmp, path)


def wait_until(pred: Callable[[], bool], timeout: float = 10.0, pause: float = 0.0002) -> float:
    deadline = time.perf_counter() + timeout
    while not pred():
        if time.perf_counter() > deadline:
            raise TimeoutError("the change never became visible")
        time.sleep(pause)
    return time.perf_counter()


QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
OVERRIDE = """\
services:
  web:
    volumes: !reset []
    command: ["sh", "-c", "mkdir -p /www && exec httpd -f -p 80 -h /www"]
    ports: !override ["127.0.0.1:{port}:80"]
    develop:
      watch:
        - {{action: sync, path: ./web, target: /www, initial_sync: true}}
        - {{action: sync+restart, path: ./conf, target: /etc/web}}
"""


def bench_stackfile(base: Path, edits: int, restarts: int) -> dict[str, list[float]]:
    """The quickstart, its web service watched (``stackfile up`` + ``watch`` through the engine)."""
    from stackfile.cli.main import GlobalOptions
    from stackfile.engine.project import DownOptions, down
    from stackfile.engine.project_context import open_project
    from stackfile.engine.watch import run_watch
    from stackfile.reconcile import labels as L

    work = base / "quickstart"
    shutil.copytree(QUICKSTART, work)
    (work / "conf").mkdir()
    (work / "web" / "bench.txt").write_text("start\n")
    port = free_port()
    (work / "watch.yaml").write_text(OVERRIDE.format(port=port))
    opts = GlobalOptions(files=[str(work / "stack.yaml"), str(work / "watch.yaml")], root=str(base / "store"),
                         environ={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    out: dict[str, list[float]] = {"fs": [], "http": [], "restart": []}
    stop, ready = threading.Event(), threading.Event()
    actions: list[Any] = []
    thread = threading.Thread(target=run_watch, args=(opts, ["web"]),
                              kwargs={"stop": stop, "ready": ready, "sink": actions.append})
    thread.start()
    try:
        if not ready.wait(300):
            raise TimeoutError("up + watch did not start")
        ctx = open_project(opts)
        (web,) = [s.id for s in ctx.containers(all=False) if s.labels.get(L.SERVICE) == "web"]
        wait_until(serves(port, "bench.txt", "start\n"), timeout=30, pause=0.01)
        inside = Path(ctx.runtime.rootfs_path(web)) / "www" / "bench.txt"
        for i in range(edits):
            text = f"edit {i}\n"
            t0 = time.perf_counter()
            save(work / "web" / "bench.txt", text)
            out["fs"].append(wait_until(file_is(inside, text)) - t0)
            out["http"].append(wait_until(serves(port, "bench.txt", text)) - t0)
            time.sleep(0.01)
        for i in range(restarts):
            text = f"conf {i}\n"
            before = ctx.runtime.inspect(web).started_at
            t0 = time.perf_counter()
            save(work / "conf" / "app.conf", text)
            answering = serves(port, "bench.txt", f"edit {edits - 1}\n" if edits else "start\n")
            done = wait_until(restarted(ctx.runtime, web, before, answering), pause=0.005)
            out["restart"].append(done - t0)
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
        down(opts, DownOptions(volumes=True, timeout=2))
    done_actions = [a for a in actions if a.kind == "watch.action"]
    out["sync-action"] = [a.seconds for a in done_actions if a.action == "sync"]
    out["restart-action"] = [a.seconds for a in done_actions if a.action == "sync+restart"]
    return out


def file_is(path: Path, text: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return path.read_text() == text
        except OSError:
            return False

    return check


def serves(port: int, path: str, text: str) -> Callable[[], bool]:
    return lambda: http_get(port, path) == text


def restarted(runtime: Runtime, cid: str, before: str | None,
              answering: Callable[[], bool]) -> Callable[[], bool]:
    return lambda: runtime.inspect(cid).started_at != before and answering()


def bench_compose(base: Path, edits: int, restarts: int) -> dict[str, list[float]] | None:
    """The same quickstart and override under ``docker compose up -d`` + ``docker compose watch``."""
    if not os.path.exists(COMPOSE) or subprocess.run(["docker", "info"], capture_output=True).returncode:
        return None
    work = base / "compose-quickstart"
    shutil.copytree(QUICKSTART, work)
    (work / "conf").mkdir()
    (work / "web" / "bench.txt").write_text("start\n")
    port = free_port()
    (work / "watch.yaml").write_text(OVERRIDE.format(port=port))
    dc = [COMPOSE, "-p", f"benchwatch{os.getpid()}",
          "-f", str(work / "stack.yaml"), "-f", str(work / "watch.yaml")]
    out: dict[str, list[float]] = {"http": [], "restart": []}
    watcher = None
    try:
        up = subprocess.run([*dc, "up", "-d"], capture_output=True, text=True)
        if up.returncode:
            print(f"compose v2: up failed, not measured:\n{up.stderr[-2000:]}", file=sys.stderr)
            return None
        watcher = subprocess.Popen([*dc, "watch", "--no-up"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, cwd=work)
        wait_until(serves(port, "bench.txt", "start\n"), timeout=60, pause=0.05)
        time.sleep(2.0)  # compose starts watching only after its initial sync: edits before are lost
        for i in range(edits):
            text = f"edit {i}\n"
            t0 = time.perf_counter()
            save(work / "web" / "bench.txt", text)
            out["http"].append(wait_until(serves(port, "bench.txt", text), pause=0.001) - t0)
            time.sleep(0.05)
        cid = subprocess.run([*dc, "ps", "-q", "web"], capture_output=True, text=True).stdout.strip()
        answering = serves(port, "bench.txt", f"edit {edits - 1}\n" if edits else "start\n")
        for i in range(restarts):
            before = docker_started(cid)
            t0 = time.perf_counter()
            save(work / "conf" / "app.conf", f"conf {i}\n")
            done = wait_until(docker_restarted(cid, before, answering), timeout=30, pause=0.005)
            out["restart"].append(done - t0)
            time.sleep(0.05)
    finally:
        if watcher is not None:
            watcher.terminate()
            watcher.wait()
        subprocess.run([*dc, "down", "-v", "-t", "1"], capture_output=True)
    return out


def docker_started(cid: str) -> str:
    return subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", cid], capture_output=True,
                          text=True).stdout.strip()


def docker_restarted(cid: str, before: str, answering: Callable[[], bool]) -> Callable[[], bool]:
    return lambda: docker_started(cid) != before and answering()


def baseline(runs: int = 10) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - t0)
    return times


def row(label: str, xs: list[float], peer: list[float] | None = None) -> str:
    if not xs:
        return f"{label:<44} {'not measured':>9}"
    ms = sorted(x * 1000 for x in xs)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    line = (f"{label:<44} {statistics.median(ms):>9.1f} {p99:>9.1f} {ms[0]:>9.1f} {ms[-1]:>9.1f} "
            f"{len(ms):>5}")
    if peer and xs:
        theirs, mine = statistics.median(peer), statistics.median(xs)
        line += f"   compose v2 p50 {theirs * 1000:.1f} ms → {theirs / mine:.1f}x"
    return line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edits", type=int, default=200)
    ap.add_argument("--restarts", type=int, default=30)
    ap.add_argument("--compose-edits", type=int, default=40)
    ap.add_argument("--compose-restarts", type=int, default=10)
    ap.add_argument("--no-compose", action="store_true")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="stackfile-bench-watch-", dir="/var/tmp"))
    try:
        ours = bench_stackfile(base, args.edits, args.restarts)
        theirs = None if args.no_compose else bench_compose(base, args.compose_edits, args.compose_restarts)
    finally:
        subprocess.run(["umount", "-R", "-l", str(base)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
    print(f"{'ms':<44} {'p50':>9} {'p99':>9} {'min':>9} {'max':>9} {'runs':>5}")
    print(row("python3 -c pass (interpreter start, baseline)", baseline()))
    print(row("stackfile: save → visible in container fs", ours["fs"]))
    print(row("stackfile: save → served over HTTP", ours["http"], theirs["http"] if theirs else None))
    print(row("stackfile: save → restarted and answering", ours["restart"],
              theirs["restart"] if theirs else None))
    print(row("  of which the sync action (write into the container)", ours["sync-action"]))
    print(row("  of which the sync+restart action (runtime stop+start)", ours["restart-action"]))
    if theirs:
        print(row("compose v2 watch: save → served over HTTP", theirs["http"]))
        print(row("compose v2 watch: save → restarted and answering", theirs["restart"]))
    else:
        print("compose v2: not measured (dockerd or docker-compose-v2 missing, or --no-compose)")


if __name__ == "__main__":
    main()
