#!/usr/bin/env python3
"""Compose workflow benchmark: ``up -d``, no-op ``up -d`` and ``down -v`` for 5 and 20 services.

Each stack: busybox services (even: ``httpd``, odd: ``sleep``), one custom network, one named
volume mounted everywhere, a ``depends_on`` chain (s1 <- s2 <- ...) and ``stop_signal: SIGKILL``
(PID 1 ignores SIGTERM; podman here has no init binary, so ``init: true`` is not portable). The same
stack runs under stackfile and, where installed, docker compose v2, docker-compose v1 and
podman-compose, in the same run; the table prints median/min/max over the runs and the ratio
stackfile / Compose v2.

    python3 bench/compose.py [--runs 5] [--sizes 5,20] [--tools stackfile,stackfile-venv,compose-v2,...]

``stackfile`` is the console script of this interpreter; ``stackfile-venv`` the same code through a
clean venv's console script (``bench/cleanenv.py``): this sandbox's base interpreter runs a certifi
``.pth`` hook costing ~23 ms per process, which a venv install does not. Both rows are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

STACKFILE = shutil.which("stackfile", path=os.path.dirname(sys.executable)) or shutil.which("stackfile")
PEERS = {
    "compose-v2": "/var/tmp/peers/bin/docker-compose-v2",
    "compose-v1": "/usr/bin/docker-compose",
    "podman": "/var/tmp/peers/venv/bin/podman-compose",
}
IMAGE = {"stackfile": "busybox", "stackfile-venv": "busybox", "compose-v2": "busybox",
         "compose-v1": "busybox", "podman": "localhost/busybox"}
OPS = ("up", "noop-up", "down")


def stack_yaml(n: int, image: str) -> str:
    lines = ["services:"]
    for i in range(1, n + 1):
        cmd = '["httpd", "-f", "-p", "80"]' if i % 2 == 0 else '["sleep", "100000"]'
        lines += [f"  s{i}:", f"    image: {image}", f"    command: {cmd}", "    stop_signal: SIGKILL",
                  "    networks: [net]", "    volumes: [vol:/data]"]
        if i > 1:
            lines += ["    depends_on:", f"      s{i - 1}:", "        condition: service_started"]
    lines += ["networks:", "  net: {}", "volumes:", "  vol: {}", ""]
    return "\n".join(lines)


def command(tool: str, root: str, project: str, file: str) -> list[str]:
    if tool == "stackfile":
        return [str(STACKFILE), "--root", root, "-p", project, "-f", file]
    if tool == "stackfile-venv":
        from cleanenv import venv_console_script

        return [venv_console_script(), "--root", root, "-p", project, "-f", file]
    return [PEERS[tool], "-p", project, "-f", file]


def run(argv: list[str], timeout: float = 120) -> float:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{' '.join(argv)} timed out after {timeout:g}s") from None
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        out = proc.stdout[-2000:] + proc.stderr[-2000:]
        raise RuntimeError(f"{' '.join(argv)} -> {proc.returncode}\n{out}")
    return took


def bench_tool(tool: str, n: int, runs: int, workdir: Path, root: str) -> dict[str, list[float]]:
    file = workdir / f"{tool}-{n}.yaml"
    file.write_text(stack_yaml(n, IMAGE[tool]))
    project = f"bench{tool.replace('-', '')}{n}"
    base = command(tool, root, project, str(file))
    times: dict[str, list[float]] = {op: [] for op in OPS}
    subprocess.run([*base, "down", "-v", "-t", "1"], capture_output=True)
    run([*base, "up", "-d"])  # warm-up: images materialised, caches warm
    run([*base, "down", "-v"])
    for _ in range(runs):
        times["up"].append(run([*base, "up", "-d"]))
        times["noop-up"].append(run([*base, "up", "-d"]))
        times["down"].append(run([*base, "down", "-v"]))
    return times


def baseline(runs: int, python: str = sys.executable) -> list[float]:
    return [run([python, "-c", "pass"]) for _ in range(max(runs, 5))]


def fmt(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):9.0f} {min(ms):9.0f} {max(ms):9.0f} {len(ms):5d}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="5,20")
    ap.add_argument("--tools", default="stackfile,stackfile-venv,compose-v2,compose-v1,podman")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 2
    tools = [t for t in args.tools.split(",")
             if t.startswith("stackfile") or Path(PEERS.get(t, "/nonexistent")).exists()]
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[tuple[str, int], dict[str, list[float]]] = {}
    workdir = Path(tempfile.mkdtemp(prefix="sf-bench-compose-", dir="/var/tmp"))
    root = str(workdir / "store")
    try:
        base = baseline(args.runs)
        venv_base = None
        if "stackfile-venv" in tools:
            from cleanenv import script_python, venv_console_script

            venv_base = baseline(args.runs, script_python(venv_console_script()))
        for n in sizes:
            for tool in tools:
                try:
                    results[(tool, n)] = bench_tool(tool, n, args.runs, workdir, root)
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    print(f"# {tool} with {n} services failed: {exc}", file=sys.stderr)
    finally:
        for tool in tools:
            for n in sizes:
                file = workdir / f"{tool}-{n}.yaml"
                if file.exists():
                    subprocess.run([*command(tool, root, f"bench{tool.replace('-', '')}{n}", str(file)),
                                    "down", "-v", "-t", "1"], capture_output=True)
        subprocess.run(["umount", "-R", "-l", root], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'tool':<12} {'svcs':>4} {'op':<8} {'median ms':>9} {'min ms':>9} {'max ms':>9} {'runs':>5}"
          f" {'x v2':>6}")
    print(f"{'python -c pass':<12} {'':>4} {'start':<8} {fmt(base)}")
    if venv_base:
        print(f"{'venv python':<12} {'':>4} {'start':<8} {fmt(venv_base)}")
    order = sorted(results.items(), key=lambda kv: (kv[0][1], not kv[0][0].startswith("stackfile")))
    for (tool, n), times in order:
        for op in OPS:
            ratio = ""
            v2 = results.get(("compose-v2", n))
            if v2 and tool != "compose-v2":
                ratio = f"{statistics.median(times[op]) / statistics.median(v2[op]):6.2f}"
            print(f"{tool:<12} {n:>4} {op:<8} {fmt(times[op])} {ratio:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
