"""Registry benchmark: push and pull of a 30 MiB image, stackfile against ``docker`` in the same run.

Usage: ``bench/registry.py [--runs N] [--mib 30] [--no-peers]`` (as root; needs ``docker-registry``,
``openssl``, ``htpasswd``; Docker from ``../shared/peers/setup.sh`` for the peer rows).

A real registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1 with TLS from a test CA
trusted the Docker way and htpasswd auth. The image is busybox plus a layer of N MiB of random
bytes (incompressible: the transfer, not the compressor, is measured). Each round starts from an
empty registry so nothing is skipped or mounted, and times, round-robin:
- ``stackfile image push`` of the image right after it was built (its layers are compressed
  during the push) and again with its compressed layers remembered (as after a pull or a push);
- ``stackfile image pull`` into an empty store (download, verify, unpack);
- ``docker pull`` of the same image after ``docker rmi`` (download, verify, unpack);
- ``docker push`` of that image to an emptied registry (docker compresses on every push).
Rows: median, min, max (ms) and the ratio stackfile/docker.
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

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from tests.integration.registry.regsupport import PASSWORD, USER, missing_tools, running_registry  # noqa: E402

DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker") or ""


def sh(argv: list[str], env: dict[str, str], stdin: str | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    ms = (time.perf_counter() - t0) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return ms


def docker_ok(env: dict[str, str]) -> bool:
    if not DOCKER:
        return False
    return subprocess.run([DOCKER, "info"], capture_output=True, env=env, timeout=30).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mib", type=int, default=30)
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    if missing_tools():
        raise SystemExit(
            f"needs {', '.join(missing_tools())} (apt-get install docker-registry openssl apache2-utils)"
        )
    work = Path(tempfile.mkdtemp(prefix="stackfile-bench-registry-", dir="/var/tmp"))
    cfg = work / "docker-config"
    cfg.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STACKFILE", "DOCKER_"))}
    env.update(DOCKER_CONFIG=str(cfg), PYTHONPATH=str(HERE))
    sf = [sys.executable, "-m", "stackfile"]
    peers = not args.no_peers and docker_ok(env)
    rows: dict[str, list[float]] = {}
    try:
        with running_registry(work / "registry") as reg:
            store = work / "store"
            sh([*sf, "--root", str(store), "login", reg.host, "-u", USER, "--password-stdin"], env, PASSWORD)
            if peers:
                sh([DOCKER, "login", reg.host, "-u", USER, "--password-stdin"], env, PASSWORD)
            ctx = work / "ctx"
            ctx.mkdir()
            (ctx / "Dockerfile").write_text(f"FROM busybox\nRUN head -c {args.mib}m /dev/urandom > /big\n")
            ref = f"{reg.host}/bench/big:1"
            sh([*sf, "--root", str(store), "image", "build", "-q", "-t", ref, str(ctx)], env)

            def empty_registry() -> None:
                reg.kill()
                shutil.rmtree(reg.data, ignore_errors=True)
                reg.start()

            for i in range(args.runs):
                empty_registry()
                # a fresh build of the same content: its layers are compressed during the push
                fresh = work / f"fresh-{i}"
                sh([*sf, "--root", str(fresh), "image", "build", "-q", "-t", ref, str(ctx)], env)
                rows.setdefault("stackfile push (first push of a build)", []).append(
                    sh([*sf, "--root", str(fresh), "image", "push", "-q", ref], env)
                )
                shutil.rmtree(fresh, ignore_errors=True)
                empty_registry()
                rows.setdefault("stackfile push", []).append(
                    sh([*sf, "--root", str(store), "image", "push", "-q", ref], env)
                )
                target = work / f"pull-{i}"
                rows.setdefault("stackfile pull (empty store)", []).append(
                    sh([*sf, "--root", str(target), "image", "pull", "-q", ref], env)
                )
                shutil.rmtree(target, ignore_errors=True)
                if peers:
                    subprocess.run([DOCKER, "rmi", "-f", ref], capture_output=True, env=env)
                    rows.setdefault("docker pull", []).append(sh([DOCKER, "pull", "-q", ref], env))
                    empty_registry()
                    rows.setdefault("docker push", []).append(sh([DOCKER, "push", "-q", ref], env))
            if peers:
                subprocess.run([DOCKER, "rmi", "-f", ref], capture_output=True, env=env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"registry push/pull of busybox + {args.mib} MiB random layer, loopback TLS + basic auth, "
        f"{args.runs} runs (ms)"
    )
    print(f"{'':40} {'median':>8} {'min':>8} {'max':>8}")
    for name, values in rows.items():
        print(f"{name:40} {statistics.median(values):8.0f} {min(values):8.0f} {max(values):8.0f}")
    for ours, theirs in (
        ("stackfile push", "docker push"),
        ("stackfile push (first push of a build)", "docker push"),
        ("stackfile pull (empty store)", "docker pull"),
    ):
        if ours in rows and theirs in rows:
            ratio = statistics.median(rows[ours]) / statistics.median(rows[theirs])
            print(f"{ours} / {theirs}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
