"""Network benchmarks: per-container network setup and published-port latency.

stackfile (in-process API, one store root under /var/tmp):
- ``sandbox setup``: ``NetworkManager.create_sandbox`` on one network — netns file, veth with the
  peer created inside the namespace, address, routes, DNS registration — and ``+ port``: the same
  with one published TCP port (host socket bound, proxy process spawned);
- ``sandbox teardown``: ``destroy_sandbox``;
- ``20 sandboxes, 8 threads``: create and destroy of 20 sandboxes in parallel, as ``up``/``down``
  of a 20-service stack do (the kernel destroys released namespaces and their veths in batches);
- ``network create`` (bridge, nft table, iptables rules, DNS server process) and ``remove``;
- ``DNS server stop``: ``helpers.stop`` of a network's DNS server (returns once it has exited);
- HTTP GET latency (new TCP connection each time) to a busybox httpd in a sandbox: direct to the
  container address, through the published port on 127.0.0.1 (the userland proxy), and through
  an nftables DNAT rule (the path clients from other hosts take).

Docker, when dockerd answers: ``docker run --rm busybox true`` on the default bridge minus the
same with ``--network none`` (≈ Docker's per-container network setup), and HTTP GET latency
through ``docker run -p 127.0.0.1::80`` (docker-proxy/DNAT) in the same run.

Baseline: the bare interpreter start (``python -c pass``) and ``stackfile network ls``.

Run as root:  python3 bench/network.py [--runs 20] [--http 200] [--docker-runs 8]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stackfile.network import Attachment, Endpoint, NetworkConfig, NetworkManager, PortBinding, helpers
from stackfile.store.paths import StorePaths

STACKFILE = "/root/.pyenv/versions/3.11.7/bin/stackfile"


def ms(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def row(name: str, values: list[float], peer: list[float] | None = None) -> str:
    med = statistics.median(values)
    text = f"{name:<42} {med:9.2f} {min(values):9.2f} {max(values):9.2f} {len(values):5d}"
    if peer:
        pmed = statistics.median(peer)
        text += f"   docker {pmed:9.2f} ({pmed / med:5.1f}x)"
    return text


def http_get(addr: tuple[str, int]) -> bytes:
    with socket.create_connection(addr, timeout=3) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        chunks = []
        while data := s.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def latency(addr: tuple[str, int], n: int) -> list[float]:
    for _ in range(20):  # wait until it answers (first ARP on a fresh bridge), then warm up
        try:
            if b"200 OK" in http_get(addr):
                break
        except OSError:
            time.sleep(0.05)
    return [ms(lambda: http_get(addr)) for _ in range(n)]


def dnat_latency(ep: Endpoint, n: int) -> list[float]:
    """The DNAT path (what clients from other hosts take), measured from this host with the same
    kind of rule in the output hook towards the bridge gateway (a host address): DNAT of
    127.0.0.1 would need route_localnet host-wide, which is why loopback uses the proxy."""
    port, table = 18999, "stackfile_bench_dnat"
    rule = (f"table ip {table} {{\n chain out {{\n  type nat hook output priority -100; policy accept;\n"
            f"  ip daddr {ep.gateway} tcp dport {port} dnat to {ep.address}:80\n }}\n}}\n")
    subprocess.run(["nft", "-f", "-"], input=rule, text=True, check=True)
    try:
        return latency((ep.gateway, port), n)
    finally:
        subprocess.run(["nft", "delete", "table", "ip", table], check=False)


def docker_ok() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True, timeout=20).returncode == 0


def docker_figures(runs: int, n_http: int) -> dict[str, list[float]]:
    def run(*net: str) -> float:
        return ms(lambda: subprocess.run(["docker", "run", "--rm", *net, "busybox", "true"],
                                         check=True, capture_output=True))

    bridge = [run() for _ in range(runs)]
    none = [run("--network", "none") for _ in range(runs)]
    cid = subprocess.run(["docker", "run", "-d", "-p", "127.0.0.1::80", "busybox", "sh", "-c",
                          "mkdir -p /w && echo hello > /w/index.html && exec httpd -f -p 80 -h /w"],
                         check=True, capture_output=True, text=True).stdout.strip()
    try:
        port = int(subprocess.run(["docker", "port", cid, "80/tcp"], check=True, capture_output=True,
                                  text=True).stdout.split("\n")[0].rsplit(":", 1)[1])
        published = latency(("127.0.0.1", port), n_http)
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    setup = [max(b - statistics.median(none), 0.0) for b in bridge] if runs else []
    create, remove = [], []
    for i in range(max(runs // 2, 3)):
        name = f"sfbench{i}"
        create.append(ms(lambda n=name: subprocess.run(["docker", "network", "create", n], check=True,
                                                       capture_output=True)))
        remove.append(ms(lambda n=name: subprocess.run(["docker", "network", "rm", n], check=True,
                                                       capture_output=True)))
    return {"setup": setup, "published": published, "create": create, "remove": remove}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--http", type=int, default=200)
    ap.add_argument("--docker-runs", type=int, default=8)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="stackfile-bench-net-", dir="/var/tmp"))
    nm = NetworkManager(StorePaths.at(root).ensure())
    httpd: subprocess.Popen[bytes] | None = None
    results: dict[str, list[float]] = {}
    try:
        nm.ensure_network(NetworkConfig("warmup", "b"))  # imports pyroute2 once, like a long `up`
        nm.remove_network("warmup")
        results["network create"], results["network remove"] = [], []
        for i in range(max(args.runs // 4, 3)):
            results["network create"].append(ms(lambda i=i: nm.ensure_network(NetworkConfig(f"n{i}", "b"))))
            results["network remove"].append(ms(lambda i=i: nm.remove_network(f"n{i}")))
        results["DNS server stop (helpers.stop)"] = []  # was 200 ms (a command-line wait), now the exit
        for i in range(max(args.runs // 4, 3)):
            rec = nm.ensure_network(NetworkConfig(f"s{i}", "b"))
            results["DNS server stop (helpers.stop)"].append(ms(lambda r=rec: helpers.stop(r.dns_pid, r.id)))
            nm.remove_network(f"s{i}")
        nm.ensure_network(NetworkConfig("bench", "b"))
        setup, teardown, with_port = [], [], []
        for i in range(args.runs):
            sid = f"bench{i}"
            setup.append(ms(lambda s=sid: nm.create_sandbox(s, [Attachment("bench", ("svc",))])))
            teardown.append(ms(lambda s=sid: nm.destroy_sandbox(s)))
        for i in range(args.runs):
            sid = f"port{i}"
            with_port.append(ms(lambda s=sid: nm.create_sandbox(s, [Attachment("bench", ("svc",))],
                                                                 ports=[PortBinding(80, "")])))
            nm.destroy_sandbox(sid)
        for rnd in range(max(args.runs // 4, 3)):
            ids = [f"par{rnd}-{i}" for i in range(20)]
            with ThreadPoolExecutor(8) as pool:
                results.setdefault("20 sandboxes, 8 threads: create", []).append(ms(lambda ids=ids: list(
                    pool.map(lambda s: nm.create_sandbox(s, [Attachment("bench", ("svc",))]), ids))))
                results.setdefault("20 sandboxes, 8 threads: destroy", []).append(ms(lambda ids=ids: list(
                    pool.map(nm.destroy_sandbox, ids))))
        results["sandbox setup (1 network)"] = setup
        results["sandbox setup + 1 published port"] = with_port
        results["sandbox teardown"] = teardown
        sb = nm.create_sandbox("web", [Attachment("bench", ("web",))], ports=[PortBinding(80, "")])
        www = root / "www"
        www.mkdir()
        (www / "index.html").write_text("hello\n")
        httpd = subprocess.Popen(["nsenter", f"--net={sb.netns_path}", "busybox", "httpd", "-f", "-p", "80",
                                  "-h", str(www)])
        results["HTTP GET direct (container IP)"] = latency((sb.endpoints[0].address, 80), args.http)
        published = ("127.0.0.1", sb.ports[0].host_port)
        results["HTTP GET via published 127.0.0.1 port"] = latency(published, args.http)
        results["HTTP GET via nft DNAT (remote clients)"] = dnat_latency(sb.endpoints[0], args.http)
    finally:
        if httpd is not None:
            httpd.kill()
            httpd.wait()
        for sid in nm.sandbox_ids():
            nm.destroy_sandbox(sid)
        nm.prune()
        shutil.rmtree(root, ignore_errors=True)
    cli_root = Path(tempfile.mkdtemp(prefix="stackfile-bench-cli-", dir="/var/tmp"))
    try:
        results["baseline: python -c pass"] = [ms(lambda: subprocess.run([sys.executable, "-c", "pass"]))
                                               for _ in range(10)]
        ls = [STACKFILE, "--root", str(cli_root), "network", "ls"]
        results["stackfile network ls (CLI)"] = [ms(lambda: subprocess.run(ls, capture_output=True))
                                                 for _ in range(10)]
    finally:
        shutil.rmtree(cli_root, ignore_errors=True)
    docker: dict[str, list[float]] = {}
    if docker_ok():
        docker = docker_figures(args.docker_runs, args.http)
        docker["cli"] = [ms(lambda: subprocess.run(["docker", "network", "ls"], capture_output=True))
                         for _ in range(10)]
    peer = {"sandbox setup (1 network)": docker.get("setup"), "network create": docker.get("create"),
            "network remove": docker.get("remove"),
            "HTTP GET via published 127.0.0.1 port": docker.get("published"),
            "stackfile network ls (CLI)": docker.get("cli")}
    print(f"{'ms':<42} {'median':>9} {'min':>9} {'max':>9} {'runs':>5}")
    for name, values in results.items():
        print(row(name, values, peer.get(name)))
    if not docker:
        print("(docker not available: no peer figures)")
    else:
        print("docker setup = median(docker run --rm busybox true) - median(same with --network none), "
              f"{args.docker_runs} runs each")


if __name__ == "__main__":
    main()
