"""kill -9 at random points of ``up``/``build``/``down``, then check that the project converges.

Shared by the bounded test (``tests/integration/project/test_torture.py``) and the long run
(``bench/torture.py``). A round starts one command on a 5-service stack (a build, two networks,
a named volume, a published port), kills it with SIGKILL after a random delay, and then asserts:
``up -d --build --wait`` brings every service up with the latest build, ``system check`` exits 0.
At the end ``down -v`` must leave no link, mount or process of the store root.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["STACK", "Torture"]

STACK = """
services:
  app:
    build: ./app
    command: ["sh", "-c", "cat /version > /data/seen; exec httpd -f -p 80 -h /"]
    init: true
    volumes: ["data:/data"]
    networks: [front, back]
    ports: ["127.0.0.1::80"]
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/etc"]
    init: true
    networks: [front]
  worker:
    image: busybox
    command: ["sleep", "100000"]
    init: true
    networks: [back]
    depends_on: [app]
  db:
    image: busybox
    command: ["sh", "-c", "echo up > /data/db; exec sleep 100000"]
    init: true
    volumes: ["data:/data"]
    networks: [back]
  cache:
    image: busybox
    command: ["sleep", "100000"]
    init: true
networks:
  front: {}
  back: {}
volumes:
  data: {}
"""

COMMANDS = (("up", "-d", "--build"), ("build",), ("down", "-v", "-t", "1"), ("up", "-d"))


class Torture:
    """One project under a store root; :meth:`round` is one kill and the convergence checks."""

    def __init__(self, root: Path, workdir: Path, name: str, rng: random.Random) -> None:
        self.root, self.workdir, self.name, self.rng = root, workdir, name, rng
        self.version = 0
        (workdir / "app").mkdir(parents=True, exist_ok=True)
        (workdir / "stack.yaml").write_text(STACK)
        self._write_app()
        self.log: list[str] = []

    def _write_app(self) -> None:
        self.version += 1
        (self.workdir / "app" / "Dockerfile").write_text(
            f"FROM busybox\nCOPY version /version\nRUN echo built-{self.version} > /built\n")
        (self.workdir / "app" / "version").write_text(f"v{self.version}\n")

    def _argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "stackfile", "--root", str(self.root), "-p", self.name, "-f",
                str(self.workdir / "stack.yaml"), *args]

    def sf(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(self._argv(*args), capture_output=True, text=True, timeout=timeout,
                              cwd=self.workdir, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}) after {self.log[-1:]}:\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def kill_during(self, args: tuple[str, ...], delay: float) -> None:
        """Start ``args``, SIGKILL the command (only it, as ``kill -9 PID`` does) after ``delay``."""
        proc = subprocess.Popen(self._argv(*args), cwd=self.workdir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def round(self) -> None:
        """One kill, then the convergence checks."""
        args = self.rng.choice(COMMANDS)
        if "--build" in args or args == ("build",):
            self._write_app()
        delay = self.rng.uniform(0.05, 2.5)
        self.log.append(f"kill -9 {' '.join(args)} after {delay:.2f}s")
        self.kill_during(args, delay)
        self.converge()

    def converge(self) -> None:
        """``up --build --wait`` brings everything up with the latest build; the store is sound."""
        self.sf("up", "-d", "--build", "--wait", "--wait-timeout", "60")
        ps = self.sf("ps", "--format", "json").stdout
        rows = [json.loads(line) for line in ps.splitlines() if line.strip()]
        running = {r["Service"] for r in rows if r["State"] == "running"}
        assert running == {"app", "web", "worker", "db", "cache"}, (self.log[-1:], ps)
        seen = self.sf("exec", "-T", "app", "cat", "/data/seen", "/built").stdout.split()
        assert seen == [f"v{self.version}", f"built-{self.version}"], (self.log[-1:], seen)
        self._reachable()
        check = self.sf("system", "check", check=False)
        assert check.returncode == 0, (self.log[-1:], check.stdout, check.stderr)

    def _reachable(self, seconds: float = 60.0) -> None:
        """``worker`` reaches ``app`` by name. Retried: a recreated ``app`` keeps its address with a
        new MAC, and ``worker``'s stale neighbour entry black-holes it for up to ~40 s (issue 11.4,
        fixed separately); each try is bounded by busybox ``timeout`` (``wget -T`` crashes)."""
        deadline = time.monotonic() + seconds
        while True:
            got = self.sf("exec", "-T", "worker", "timeout", "5", "wget", "-q", "-O", "-", "http://app/version",
                          check=False)
            if got.returncode == 0 or time.monotonic() > deadline:
                break
        assert got.stdout.strip() == f"v{self.version}", (self.log[-1:], got)

    def finish(self) -> list[str]:
        """``down -v``; returns what is left of the store root on the host (links, mounts, processes)."""
        self.sf("down", "-v", "-t", "1")
        left = []
        root = str(self.root)
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            if line.split()[4].startswith(root + "/"):
                left.append(f"mount {line.split()[4]}")
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != os.getpid():
                try:
                    cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                if root.encode() in cmd and b"-m\0stackfile\0" not in cmd:
                    left.append(f"process {entry} {cmd[:80]!r}")
        check = self.sf("system", "check", check=False)
        if check.returncode != 0:
            left.append(check.stdout)
        return left


def main() -> int:
    import argparse
    import secrets
    import tempfile

    ap = argparse.ArgumentParser(description="kill -9 torture rounds (see tests/support/torture.py)")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="stackfile-torture-", dir="/var/tmp"))
    t = Torture(base / "root", base / "proj", f"t{secrets.token_hex(3)}", random.Random(args.seed))
    print(f"seed {args.seed}, store {base}", flush=True)
    start = time.monotonic()
    try:
        t.converge()
        for i in range(args.rounds):
            t.round()
            print(f"round {i + 1}: {t.log[-1]}: converged ({time.monotonic() - start:.0f} s)", flush=True)
    finally:
        left = t.finish()
        print("left after down -v:", left or "nothing")
        if not left:
            import shutil

            shutil.rmtree(base, ignore_errors=True)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
