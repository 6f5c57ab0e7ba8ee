"""A published port reached from another host keeps the client's address (DNAT), while loopback
clients go through the proxy. The "other host" is a namespace of ours on a /30 of 10.89.0.0/16."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from stackfile.network import Attachment, NetworkConfig, NetworkManager, PortBinding
from stackfile.network.ipam import overlapping
from stackfile.network.links import delete_link, host_subnets
from stackfile.network.names import ports_table
from stackfile.network.netns import create_netns, remove_netns
from tests.conftest import needs_root

pytestmark = needs_root

CGI = "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"$REMOTE_ADDR\"\n"


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture()
def remote(nm: NetworkManager) -> Iterator[tuple[str, str]]:
    """(namespace path, host address it routes through): a client outside every stackfile network."""
    used = host_subnets()
    candidates = IPv4Network("10.89.252.0/24").subnets(new_prefix=30)
    net = next(n for n in candidates if overlapping(n, used) is None)
    host_ip, client_ip = (str(h) for h in net.hosts())
    path = nm.paths.netns / "remote-client"
    host_if = "sx" + str(abs(hash(str(nm.paths.root))))[:12]
    create_netns(path)
    try:
        sh("nsenter", f"--net={path}", "ip", "link", "add", "eth0", "type", "veth", "peer", "name", host_if,
           "netns", "1")
        sh("ip", "addr", "add", f"{host_ip}/30", "dev", host_if)
        sh("ip", "link", "set", host_if, "up")
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "addr", "add", f"{client_ip}/30", "dev", "eth0"],
                    ["ip", "link", "set", "eth0", "up"],
                    ["ip", "route", "add", "default", "via", host_ip]):
            sh("nsenter", f"--net={path}", *cmd)
        yield str(path), host_ip
    finally:
        delete_link(host_if)
        remove_netns(path)


def test_remote_clients_keep_their_address(nm: NetworkManager, remote: tuple[str, str], procs,
                                           tmp_path: Path) -> None:
    client_ns, host_ip = remote
    nm.ensure_network(NetworkConfig("e_net", "e"))
    sb = nm.create_sandbox("e-web-1", [Attachment("e_net", ("web",))], ports=[PortBinding(80)])
    try:
        cgi = tmp_path / "www" / "cgi-bin" / "ip"
        cgi.parent.mkdir(parents=True)
        cgi.write_text(CGI)
        cgi.chmod(0o755)
        procs.start(sb.netns_path, "busybox", "httpd", "-f", "-p", "80", "-h", str(tmp_path / "www"))
        port = nm.ports(sb.id, 80)[0].host_port

        def ask(netns: str | None, host: str) -> str:
            argv = ["busybox", "wget", "-qO-", f"http://{host}:{port}/cgi-bin/ip"]
            prefix = ["nsenter", f"--net={netns}"] if netns else []
            out = subprocess.run(["timeout", "3", *prefix, *argv], capture_output=True, text=True).stdout
            return out.strip().removeprefix("[::ffff:").removesuffix("]")  # httpd listens dual-stack

        deadline = time.monotonic() + 5
        while not ask(None, "127.0.0.1") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ask(None, "127.0.0.1") == sb.endpoints[0].gateway  # the proxy connects from the host
        show = ["nsenter", f"--net={client_ns}", "ip", "-4", "-o", "addr", "show", "eth0"]
        client_ip = subprocess.run(show, capture_output=True, text=True).stdout.split()[3].split("/")[0]
        deadline = time.monotonic() + 5  # the proxy process loads the DNAT table as it starts
        while ask(client_ns, host_ip) != client_ip and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ask(client_ns, host_ip) == client_ip  # DNAT: the container sees the remote client
        tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
        assert ports_table(nm.paths, sb.id) in tables  # so the check below can fail
    finally:
        nm.destroy_sandbox(sb.id)
        nm.remove_network("e_net")
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert ports_table(nm.paths, sb.id) not in tables  # the sandbox's DNAT table went with it


def test_outbound_is_masqueraded_and_internal_stays_in(nm: NetworkManager, remote: tuple[str, str], procs,
                                                      tmp_path: Path) -> None:
    """A container reaches a host outside its network with the host's address (masquerade); a
    container on an internal network does not get out at all."""
    client_ns, host_ip = remote
    cgi = tmp_path / "www" / "cgi-bin" / "ip"
    cgi.parent.mkdir(parents=True)
    cgi.write_text(CGI)
    cgi.chmod(0o755)
    procs.start(client_ns, "busybox", "httpd", "-f", "-p", "8080", "-h", str(tmp_path / "www"))
    show = ["nsenter", f"--net={client_ns}", "ip", "-4", "-o", "addr", "show", "eth0"]
    outside = subprocess.run(show, capture_output=True, text=True).stdout.split()[3].split("/")[0]
    nm.ensure_network(NetworkConfig("o_net", "o"))
    nm.ensure_network(NetworkConfig("o_int", "o", internal=True))
    out = nm.create_sandbox("o-out-1", [Attachment("o_net", ("out",))])
    jail = nm.create_sandbox("o-int-1", [Attachment("o_int", ("jail",))])
    try:
        def get(sb_path: str) -> str:
            argv = ["timeout", "3", "nsenter", f"--net={sb_path}", "busybox", "wget", "-qO-",
                    f"http://{outside}:8080/cgi-bin/ip"]
            return subprocess.run(argv, capture_output=True, text=True).stdout.strip()

        deadline = time.monotonic() + 5
        while not get(out.netns_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert get(out.netns_path).removeprefix("[::ffff:").removesuffix("]") == host_ip
        assert get(jail.netns_path) == ""
    finally:
        nm.destroy_sandbox(out.id)
        nm.destroy_sandbox(jail.id)
        nm.remove_network("o_net")
        nm.remove_network("o_int")
