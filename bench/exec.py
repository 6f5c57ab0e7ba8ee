"""Exec benchmark: ``stackfile container exec C true`` into a running busybox container, against Docker.

Usage: ``bench/exec.py [--runs N] [--no-peers]`` (as root; a temporary store root).

Rows (wall clock, ms, N runs each, round-robin): ``Runtime.exec`` in-process (fork, setns, exec,
wait), the ``stackfile container exec`` CLI through the installed console script, and
``docker exec`` into a busybox container when Docker works here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from bench.container_start import console_script, interleaved, peer_works, run_quiet  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    from stackfile.engine.images import ensure_image
    from stackfile.runtime import get_runtime
    from stackfile.runtime.api import ContainerSpec, ExecSpec, Process
    from stackfile.store.paths import StorePaths

    root = tempfile.mkdtemp(prefix="stackfile-bench-exec-", dir="/var/tmp")
    paths = StorePaths.at(root).ensure()
    rt = get_runtime(paths)
    image = ensure_image(paths, "busybox")
    spec = ContainerSpec(name="", layers=image.lower_dirs(paths), process=Process(argv=("sleep", "600")))
    cid = rt.create(spec)
    rt.start(cid)
    docker_id = ""
    try:
        cli = console_script()
        commands = [("Runtime.exec true (in-process)", lambda: rt.exec(cid, ExecSpec(argv=("true",)))),
                    ("stackfile container exec C true", run_quiet([cli, "--root", root, "container", "exec",
                                                                   cid, "true"]))]
        if not args.no_peers and peer_works(["docker", "version"]):
            docker_id = subprocess.run(["docker", "run", "-d", "--rm", "busybox", "sleep", "600"],
                                       capture_output=True, text=True, check=False).stdout.strip()
            if docker_id:
                commands.append(("docker exec C true", run_quiet(["docker", "exec", docker_id, "true"])))
        results = interleaved(commands, args.runs)
        import statistics

        print(f"{'what':<40} {'median':>8} {'min':>8} {'max':>8}  runs   (ms, load {os.getloadavg()[0]:.1f})")
        for label, times in results.items():
            row = f"{statistics.median(times):8.1f} {min(times):8.1f} {max(times):8.1f}"
            print(f"{label:<40} {row}  {len(times)}")
    finally:
        rt.remove(cid, force=True)
        if docker_id:
            subprocess.run(["docker", "rm", "-f", docker_id], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
