#!/usr/bin/env python3
"""Benchmark ``stackfile config`` on a generated 50-service stack file against its peers.

    python3 bench/config.py [--runs 20] [--services 50]

Prints one row per command (median, min, max in ms, runs): the bare interpreter start as a
baseline, ``stackfile config`` (YAML, the default) and ``--format json`` (the installed console
script), and, when
installed, Docker Compose v2 and docker-compose 1.29 on the same file, with the ratio to stackfile.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEERS = {
    "docker compose v2": "/var/tmp/peers/bin/docker-compose-v2",
    "docker-compose 1.29": "/usr/bin/docker-compose",
}


def stack_text(services: int) -> str:
    """A realistic file: ports, env with interpolation, binds, named volume, healthcheck, depends_on."""
    lines = ["services:"]
    for i in range(services):
        lines += [
            f"  svc{i}:",
            f"    image: busybox:{i}",
            "    command: sleep infinity",
            f"    ports: ['{8000 + i}:80']",
            "    environment:",
            f"      IDX: '{i}'",
            "      MODE: ${MODE:-dev}",
            "    volumes: ['./data:/data:ro', 'cache:/cache']",
            "    healthcheck:",
            "      test: ['CMD', 'true']",
            "      interval: 90s",
        ]
        if i:
            lines.append(f"    depends_on: [svc{i - 1}]")
    lines += ["volumes:", "  cache: {}"]
    return "\n".join(lines) + "\n"


def stackfile_command() -> list[str]:
    script = Path(sys.executable).with_name("stackfile")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "stackfile"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def time_runs(cmd: list[str], cwd: str, runs: int) -> tuple[list[float], list[float]] | None:
    env = {**os.environ, "HOME": cwd}
    first = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)  # warm caches
    if first.returncode != 0:
        print(f"# {' '.join(cmd)} failed: {first.stderr.strip()[:200]}", file=sys.stderr)
        return None
    wall, cpu = [], []
    for _ in range(runs):
        cpu_start, start = _cpu(), time.perf_counter()
        subprocess.run(
            cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append(_cpu() - cpu_start)
    return wall, cpu


def compile_bytecode() -> None:
    """Write .pyc files for the modules ``config`` imports, as an installed package has them.

    With PYTHONDONTWRITEBYTECODE set (as in this sandbox), a module edited after its .pyc was
    written is recompiled from source on every run, which would be measured as start-up time.
    """
    import compileall

    package = Path(__file__).resolve().parents[1] / "stackfile"
    for sub in ("spec", "cli", "engine"):
        compileall.compile_dir(str(package / sub), quiet=1, maxlevels=0)
    for name in ("__init__.py", "__main__.py", "errors.py", "graph.py", "digest.py", "events.py"):
        if (package / name).exists():
            compileall.compile_file(str(package / name), quiet=1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--services", type=int, default=50)
    ap.add_argument("--no-compile", action="store_true", help="do not write .pyc files first")
    args = ap.parse_args()
    if not args.no_compile:
        compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="sf-bench-config-") as tmp:
        Path(tmp, "compose.yaml").write_text(stack_text(args.services))
        Path(tmp, "data").mkdir()
        rows: list[tuple[str, list[float], list[float]]] = []
        commands = {
            "python3 -c pass (baseline)": [sys.executable, "-c", "pass"],
            "stackfile config": [*stackfile_command(), "-p", "bench", "config"],
            "stackfile config --format json": [
                *stackfile_command(),
                "-p",
                "bench",
                "config",
                "--format",
                "json",
            ],
        }
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from cleanenv import script_python, venv_console_script

        venv_script = venv_console_script()
        commands["venv python -c pass"] = [script_python(venv_script), "-c", "pass"]
        commands["stackfile config (clean venv)"] = [venv_script, "-p", "bench", "config"]
        for name, path in PEERS.items():
            if shutil.which(path):
                commands[name] = [path, "-p", "bench", "-f", "compose.yaml", "config"]
        for name, cmd in commands.items():
            measured = time_runs(cmd, tmp, args.runs)
            if measured:
                rows.append((name, *measured))
    ours = next((statistics.median(w) for n, w, _ in rows if n == "stackfile config"), None)
    print(
        f"stackfile config on a {args.services}-service file (ms, including interpreter start; "
        f"load average {os.getloadavg()[0]:.2f})"
    )
    print(
        f"{'command':<30} {'median':>8} {'min':>8} {'max':>8} {'runs':>5} {'cpu med':>8} {'vs stackfile':>13}"
    )
    for name, wall, cpu in rows:
        med = statistics.median(wall)
        ratio = f"{med / ours:.2f}x" if ours and name != "stackfile config" else "-"
        print(
            f"{name:<30} {med:8.1f} {min(wall):8.1f} {max(wall):8.1f} {len(wall):5d} "
            f"{statistics.median(cpu):8.1f} {ratio:>13}"
        )
    print("wall = elapsed time per run; cpu = user+sys of the process tree (Go peers use several threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
