"""Entry point of a sandbox's port proxy process: ``python -m stackfile.network.proxyd``."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from pathlib import Path

from stackfile.network.proxy import Forward, serve


def main(argv: list[str]) -> None:
    """``--sandbox ID --map FD:PROTO:IP:PORT ...``; relays until SIGTERM."""
    ap = argparse.ArgumentParser(prog="stackfile-proxyd")
    ap.add_argument("--sandbox", required=True)  # the marker that identifies this process
    ap.add_argument("--map", action="append", default=[])
    ap.add_argument("--db", default="")
    ap.add_argument("--nft-table", default="")  # DNAT table to drop when the sandbox is gone
    args = ap.parse_args(argv)
    forwards = []
    for item in args.map:
        fd, proto, ip, port = item.split(":")
        forwards.append(Forward(socket.socket(fileno=int(fd)), proto, (ip, int(port))))  # family from fd
    try:
        asyncio.run(serve(forwards, Path(args.db) if args.db else None, args.sandbox))
    finally:
        if args.nft_table:
            from stackfile.network.firewall import remove_ports

            remove_ports(args.nft_table)


if __name__ == "__main__":
    main(sys.argv[1:])
