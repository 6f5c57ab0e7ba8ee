"""Hot-reload latency: save a file → new content visible in the container, and → service restarted.

stackfile: a busybox httpd container started through the runtime API (host network, 127.0.0.1),
watched by a WatchSession with a ``sync`` rule (``site/`` → ``/app``) and a ``sync+restart`` rule
(``conf/`` → ``/app/conf``). Each edit is an editor-style save (temp file + rename); the clock starts
just before the save and stops when the new content is read back — through the container's root
(``/proc/<pid>/root``) and over HTTP. Compose v2 (``docker compose watch``, same busybox httpd, same
rules, published on 127.0.0.1) is measured over HTTP in the same run when dockerd is up.

Run as root:  python3 bench/watch.py [--edits 200] [--restarts 30] [--compose-edits 40]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stackfile.runtime import get_runtime
from stackfile.runtime.api import ContainerSpec, ExecSpec, NetworkAttachment, Process, Runtime
from stackfile.store.paths import StorePaths
from stackfile.watch.rules import Action, WatchRule
from stackfile.watch.session import WatchSession
from tests.support.busybox import make_busybox_layer

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


class Target:
    """The ActionTarget over one container (what the engine does with the reconciler's containers)."""

    def __init__(self, runtime: Runtime, cid: str) -> None:
        self.runtime, self.cid = runtime, cid

    def roots(self, service: str) -> list[str]:
        return [self.runtime.rootfs_path(self.cid)]

    def restart(self, service: str) -> None:
        self.runtime.restart(self.cid)

    def rebuild(self, service: str) -> None:
        raise NotImplementedError

    def exec(self, service: str, rule: WatchRule) -> int:
        return self.runtime.exec(self.cid, ExecSpec(argv=rule.exec_command))


@contextmanager
def stackfile_box(base: Path) -> Iterator[tuple[Runtime, str, int]]:
    runtime = get_runtime(StorePaths.at(base / "store").ensure())
    layer = make_busybox_layer(base / "layer")
    (layer / "app").mkdir()
    port = free_port()
    cid = runtime.create(ContainerSpec(
        name=f"bench-watch-{os.getpid()}", layers=(str(layer),), init=True,
        process=Process(argv=("httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/app")),
        network=NetworkAttachment(mode="host")))
    try:
        runtime.start(cid)
        yield runtime, cid, port
    finally:
        runtime.remove(cid, force=True)


def bench_stackfile(base: Path, edits: int, restarts: int) -> dict[str, list[float]]:
    site, conf = base / "site", base / "conf"
    site.mkdir()
    conf.mkdir()
    (site / "index.html").write_text("start\n")
    (conf / "app.conf").write_text("start\n")
    out: dict[str, list[float]] = {"fs": [], "http": [], "restart": []}
    with stackfile_box(base) as (runtime, cid, port):
        rules = [WatchRule("web", Action.SYNC, site, "/app", initial_sync=True, index=0),
                 WatchRule("web", Action.SYNC_RESTART, conf, "/app/conf", initial_sync=True, index=1)]
        with WatchSession(rules, Target(runtime, cid)) as session:
            wait_until(lambda: http_get(port, "index.html") == "start\n")
            for i in range(edits):
                text = f"edit {i}\n"
                inside = Path(runtime.rootfs_path(cid)) / "app" / "index.html"
                t0 = time.perf_counter()
                save(site / "index.html", text)
                out["fs"].append(wait_until(file_is(inside, text)) - t0)
                out["http"].append(wait_until(serves(port, "index.html", text)) - t0)
                session.settle(quiet=0.005)
            for i in range(restarts):
                text = f"conf {i}\n"
                before = runtime.inspect(cid).started_at
                t0 = time.perf_counter()
                save(conf / "app.conf", text)
                done = wait_until(restarted(runtime, cid, before, serves(port, "conf/app.conf", text)),
                                  pause=0.001)
                out["restart"].append(done - t0)
                session.settle(quiet=0.005)
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


COMPOSE_FILE = """\
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /app && exec httpd -f -p 80 -h /app"]
    init: true
    ports: ["127.0.0.1:{port}:80"]
    develop:
      watch:
        - {{action: sync, path: ./site, target: /app, initial_sync: true}}
        - {{action: sync+restart, path: ./conf, target: /app/conf, initial_sync: true}}
"""


def bench_compose(base: Path, edits: int, restarts: int) -> dict[str, list[float]] | None:
    if not os.path.exists(COMPOSE) or subprocess.run(["docker", "info"], capture_output=True).returncode:
        return None
    proj = base / "compose"
    (proj / "site").mkdir(parents=True)
    (proj / "conf").mkdir()
    (proj / "site" / "index.html").write_text("start\n")
    (proj / "conf" / "app.conf").write_text("start\n")
    port = free_port()
    (proj / "compose.yaml").write_text(COMPOSE_FILE.format(port=port))
    name = f"benchwatch{os.getpid()}"
    dc = [COMPOSE, "-p", name, "-f", str(proj / "compose.yaml")]
    out: dict[str, list[float]] = {"http": [], "restart": []}
    watcher = None
    try:
        subprocess.run([*dc, "up", "-d"], check=True, capture_output=True)
        watcher = subprocess.Popen([*dc, "watch", "--no-up"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, cwd=proj)
        wait_until(lambda: http_get(port, "index.html") == "start\n", timeout=60, pause=0.05)
        time.sleep(2.0)  # compose starts watching only after its initial sync: edits before are lost
        for i in range(edits):
            text = f"edit {i}\n"
            t0 = time.perf_counter()
            save(proj / "site" / "index.html", text)
            out["http"].append(wait_until(serves(port, "index.html", text), pause=0.001) - t0)
            time.sleep(0.05)
        for i in range(restarts):
            text = f"conf {i}\n"
            t0 = time.perf_counter()
            save(proj / "conf" / "app.conf", text)
            done = wait_until(serves(port, "conf/app.conf", text), timeout=30, pause=0.001)
            out["restart"].append(done - t0)
            time.sleep(0.05)
    finally:
        if watcher is not None:
            watcher.terminate()
            watcher.wait()
        subprocess.run([*dc, "down", "-t", "1"], capture_output=True)
    return out


def baseline(runs: int = 10) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - t0)
    return times


def row(label: str, xs: list[float], peer: list[float] | None = None) -> str:
    ms = sorted(x * 1000 for x in xs)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    line = (f"{label:<44} {statistics.median(ms):>9.1f} {p99:>9.1f} {ms[0]:>9.1f} {ms[-1]:>9.1f} "
            f"{len(ms):>5}")
    if peer:
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
    print(row("stackfile: save → served over HTTP", ours["http"], theirs and theirs["http"]))
    print(row("stackfile: save → restarted and answering", ours["restart"], theirs and theirs["restart"]))
    if theirs:
        print(row("compose v2 watch: save → served over HTTP", theirs["http"]))
        print(row("compose v2 watch: save → restarted and answering", theirs["restart"]))
    else:
        print("compose v2: not measured (dockerd or docker-compose-v2 missing, or --no-compose)")


if __name__ == "__main__":
    main()
