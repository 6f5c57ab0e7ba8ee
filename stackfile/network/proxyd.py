"""Entry point of a sandbox's port proxy process: ``python -m stackfile.network.proxyd``.

Besides relaying, the process owns the sandbox's DNAT table for clients from other hosts: it
loads it at start (off the caller's critical path; without it remote clients still reach the
container through the proxy) and drops it when it ends by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from stackfile.network.proxy import Forward, serve


def _dnat(table: str, forwards: Sequence[Forward]) -> None:
    from stackfile.network.firewall import install_ports
    from stackfile.network.model import BoundPort

    ports = []
    for fw in forwards:
        ip, port = fw.sock.getsockname()[:2]
        ports.append(BoundPort("" if ip == "0.0.0.0" else ip, port, fw.target[1], fw.protocol))
    try:
        install_ports(table, ports, forwards[0].target[0])
    except Exception as exc:  # logged; the proxy still serves remote clients
        sys.stderr.write(f"stackfile-proxyd: DNAT for remote clients not installed: {exc}\n")


def main(argv: list[str]) -> None:
    """``--sandbox ID --map FD:PROTO:IP:PORT ... [--db DB] [--nft-table T]``; relays until SIGTERM."""
    ap = argparse.ArgumentParser(prog="stackfile-proxyd")
    ap.add_argument("--sandbox", required=True)  # the marker that identifies this process
    ap.add_argument("--map", action="append", default=[])
    ap.add_argument("--db", default="")
    ap.add_argument("--nft-table", default="")
    args = ap.parse_args(argv)
    forwards = []
    for item in args.map:
        fd, proto, ip, port = item.split(":")
        forwards.append(Forward(socket.socket(fileno=int(fd)), proto, (ip, int(port))))  # family from fd
    if args.nft_table and forwards:
        _dnat(args.nft_table, forwards)
    try:
        asyncio.run(serve(forwards, Path(args.db) if args.db else None, args.sandbox))
    finally:
        if args.nft_table:
            from stackfile.network.firewall import remove_ports

            remove_ports(args.nft_table)


if __name__ == "__main__":
    main(sys.argv[1:])
