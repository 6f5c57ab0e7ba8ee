"""Entry point of the per-network DNS server process: ``python -m stackfile.network.dnsd``."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from pathlib import Path

from stackfile.network.dns.server import serve


def main(argv: list[str]) -> None:
    """Parse the arguments the network manager passes and serve until SIGTERM."""
    ap = argparse.ArgumentParser(prog="stackfile-dnsd")
    ap.add_argument("--db", required=True)
    ap.add_argument("--network", required=True)  # also the marker that identifies this process
    ap.add_argument("--udp-fd", type=int, required=True)
    ap.add_argument("--tcp-fd", type=int, required=True)
    ap.add_argument("--upstream", default="")
    ap.add_argument("--internal", action="store_true")
    args = ap.parse_args(argv)
    udp = socket.socket(fileno=args.udp_fd)
    tcp = socket.socket(fileno=args.tcp_fd)
    upstream = [u for u in args.upstream.split(",") if u]
    asyncio.run(serve(Path(args.db), udp, tcp, upstream, args.internal, args.network))


if __name__ == "__main__":
    main(sys.argv[1:])
