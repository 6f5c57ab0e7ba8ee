"""Daemon benchmark: the ``_ping`` round trip over the unix socket, and ``container run --rm busybox
true`` through the daemon against the in-process CLI and ``docker run``.

Usage: ``bench/daemon.py [--runs N] [--no-peers]`` (as root).

A daemon is started on a temporary store root and a unix socket, and stopped (by its PID) at the
end. Rows (wall clock, ms):
- ``_ping`` through :class:`stackfile.client.http.Connection` (a new connection per request, as
  the CLI makes), and over one kept-alive connection (the raw server cost); the target is p50 <= 1 ms;
- ``stackfile container run --rm busybox true`` through the daemon (``STACKFILE_HOST``) and
  in-process on the same store root, both through the clean venv's console script
  (``bench/cleanenv.py``), and ``docker run --rm busybox true`` when Docker works; the three run
  round-robin so background load hits them alike.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "bench"))

from container_start import interleaved, peer_commands, run_quiet, timed  # noqa: E402


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def start_daemon(root: str, sock: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    argv = [sys.executable, "-m", "stackfile", "--root", root, "daemon", "-H", f"unix://{sock}"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = _Unix(sock)
            conn.request("GET", "/v1/_ping")
            if conn.getresponse().read() == b"OK":
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the daemon did not start")


def ping_rows(sock: str, runs: int) -> list[tuple[str, list[float]]]:
    from stackfile.client.http import Connection

    fresh = Connection(f"unix://{sock}")
    kept = _Unix(sock)

    def keep_alive() -> None:
        kept.request("GET", "/v1/_ping")
        kept.getresponse().read()

    for fn in (lambda: fresh.call("GET", "/_ping"), keep_alive):
        timed(fn, 50)  # warm
    return [("_ping, a new connection each (the CLI's client)",
             timed(lambda: fresh.call("GET", "/_ping"), runs)),
            ("_ping, one kept-alive connection", timed(keep_alive, runs))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    from cleanenv import venv_console_script

    root = tempfile.mkdtemp(prefix="stackfile-bench-daemon-", dir="/var/tmp")
    sockdir = tempfile.mkdtemp(prefix="sfd-bench-")
    sock = os.path.join(sockdir, "sf.sock")
    cli = venv_console_script(sys.executable)
    # like a wheel install would: bytecode present (this sandbox sets PYTHONDONTWRITEBYTECODE)
    compile_all = [sys.executable, "-m", "compileall", "-q", str(HERE / "stackfile")]
    subprocess.run(compile_all, stdout=subprocess.DEVNULL, check=False)
    proc = start_daemon(root, sock)
    try:
        ping = ping_rows(sock, max(200, args.runs * 10))
        run = ["container", "run", "--rm", "busybox", "true"]
        remote_env = {**os.environ, "STACKFILE_HOST": f"unix://{sock}"}
        remote_label = "container run --rm busybox true (through the daemon)"
        local_label = "container run --rm busybox true (in-process)"

        def remote() -> object:
            return subprocess.run([cli, *run], env=remote_env, stdout=subprocess.DEVNULL, check=True)

        local = run_quiet([cli, "--root", root, *run])
        local()  # the busybox base, made once
        remote()
        commands = [(remote_label, remote), (local_label, local), *peer_commands(args.no_peers)]
        times = interleaved(commands, args.runs)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(30)
        shutil.rmtree(sockdir, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)  # every container ran with --rm
    load = os.getloadavg()[0]
    print(f"\n{'what':58} {'median':>8} {'min':>8} {'max':>8} {'runs':>5}   (ms, load {load:.1f})")
    for label, xs in [*ping, *times.items()]:
        print(f"{label:58} {statistics.median(xs):8.2f} {min(xs):8.2f} {max(xs):8.2f} {len(xs):5d}")
    ours = statistics.median(times[remote_label])
    print(f"\nthrough the daemon / in-process: {ours / statistics.median(times[local_label]):.2f}x")
    for label, xs in times.items():
        if label.startswith(("docker", "podman")):
            print(f"through the daemon / {label.split(' run')[0]}: {ours / statistics.median(xs):.2f}x "
                  f"(target <= 0.15x)")


if __name__ == "__main__":
    main()
