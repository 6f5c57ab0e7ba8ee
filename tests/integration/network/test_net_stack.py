"""Two networks, a replica set, an internal network and published ports, with real bridges,
namespaces and the host firewall (this host runs Docker: FORWARD policy DROP, br_netfilter on)."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stackfile.network import Attachment, NetworkConfig, NetworkManager, PortBinding, Sandbox, firewall
from stackfile.network.links import links_inside
from tests.conftest import needs_root

pytestmark = needs_root


MAC = "02:42:0a:59:00:99"


def until(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def sid(name: str) -> str:
    return name.encode().hex().ljust(64, "0")[:64]


@pytest.fixture(scope="module")
def stack(nm: NetworkManager) -> Iterator[dict[str, Sandbox]]:
    """front: web (x2 replicas), client; back: db (only on back); web-1 is on both; internal: lonely.
    Whatever was made is removed afterwards, also when a later creation fails."""
    sbs: dict[str, Sandbox] = {}
    try:
        nm.ensure_network(NetworkConfig("t_front", "t"))
        nm.ensure_network(NetworkConfig("t_back", "t"))
        nm.ensure_network(NetworkConfig("t_int", "t", internal=True))
        sbs["web1"] = nm.create_sandbox(sid("web1"), [Attachment("t_front", ("web", "t-web-1", "www")),
                                                      Attachment("t_back", ("web", "t-web-1"))],
                                        hostname="web1",
                                        ports=[PortBinding(80, ""),
                                               PortBinding(5353, "", "127.0.0.1", "udp")],
                                        who="web")
        sbs["web2"] = nm.create_sandbox(sid("web2"), [Attachment("t_front", ("web", "t-web-2"), mac=MAC)],
                                        hostname="web2")
        sbs["client"] = nm.create_sandbox(sid("client"), [Attachment("t_front", ("client",))],
                                          extra_hosts=["extra.example=10.89.250.9"])
        sbs["db"] = nm.create_sandbox(sid("db"), [Attachment("t_back", ("db",))])
        sbs["lonely"] = nm.create_sandbox(sid("lonely"), [Attachment("t_int", ("lonely",))])
        yield sbs
    finally:
        try:
            for name in ("web1", "web2", "client", "db", "lonely"):  # also a half-made one
                nm.destroy_sandbox(sid(name))
        finally:
            for net in ("t_front", "t_back", "t_int"):
                if nm.get_network(net):
                    nm.remove_network(net)


def test_interfaces_addresses_and_etc_files(stack: dict[str, Sandbox]) -> None:
    web1 = stack["web1"]
    assert links_inside(web1.netns_path) == ["eth0", "eth1", "lo"]
    assert set(web1.addresses) == {"t_front", "t_back"}
    assert len({sb.endpoints[0].address for sb in stack.values()}) == len(stack)
    assert f"{web1.endpoints[0].address}\tweb1" in web1.etc_hosts
    assert web1.resolv_conf == f"nameserver {web1.endpoints[0].gateway}\n"
    assert "10.89.250.9\textra.example" in stack["client"].etc_hosts
    link = subprocess.run(["nsenter", f"--net={stack['web2'].netns_path}", "ip", "link", "show", "eth0"],
                          capture_output=True, text=True).stdout
    assert MAC in link


def test_inspect_lists_members(stack: dict[str, Sandbox], nm: NetworkManager) -> None:
    from stackfile.engine.networks import network_inspect, network_ls

    front = network_inspect(nm.paths, ["t_front"])[0]
    assert sorted(m["Aliases"][0] for m in front["Containers"].values()) == ["client", "t-web-1", "t-web-2"]
    members = front["Containers"].values()
    assert stack["web2"].addresses["t_front"] + "/24" in [m["IPv4Address"] for m in members]
    assert {r["Name"]: r["Containers"] for r in network_ls(nm.paths, "t")} == {
        "t_back": 2, "t_front": 3, "t_int": 1}


def test_names_resolve_to_all_replicas(stack: dict[str, Sandbox], nm: NetworkManager, procs) -> None:
    client = stack["client"]
    dns = client.endpoints[0].gateway  # nsenter keeps the host's /etc/resolv.conf: name the server
    out = procs.run(client.netns_path, "busybox", "nslookup", "web", dns).stdout
    front = {stack["web1"].addresses["t_front"], stack["web2"].addresses["t_front"]}
    assert {ln.split()[-1] for ln in out.splitlines() if ln.startswith("Address") and "#" not in ln
            and ":53" not in ln} == front
    for name in ("www", "t-web-2", "extra.example"):
        assert procs.run(client.netns_path, "busybox", "nslookup", name, dns).returncode == 0, name
    # discovery follows containers as they come and go
    web3 = nm.create_sandbox(sid("web3"), [Attachment("t_front", ("web",))])
    try:
        out = procs.run(client.netns_path, "busybox", "nslookup", "web", dns).stdout
        assert web3.addresses["t_front"] in out
    finally:
        nm.destroy_sandbox(web3.id)
    after = procs.run(client.netns_path, "busybox", "nslookup", "web", dns).stdout
    assert web3.addresses["t_front"] not in after
    # db is only on back: the client must not learn its name
    assert procs.run(client.netns_path, "busybox", "nslookup", "db", dns).returncode != 0


def test_reach_by_service_name_and_alias(stack: dict[str, Sandbox], procs, tmp_path: Path) -> None:
    procs.httpd(stack["web1"].netns_path, tmp_path / "w1", "hello from web1\n")
    client = stack["client"]

    def get(name: str) -> str:
        return procs.run_sb(client, "busybox", "wget", "-qO-", f"http://{name}/", timeout=3).stdout

    assert until(lambda: get("www") == "hello from web1\n")
    assert get("t-web-1") == "hello from web1\n"


def test_network_isolation_and_internal(stack: dict[str, Sandbox], procs, tmp_path: Path) -> None:
    db = stack["db"]
    procs.httpd(db.netns_path, tmp_path / "db", "db\n")
    web1, client = stack["web1"], stack["client"]
    db_ip = db.addresses["t_back"]
    # web1 shares the back network with db: reachable
    assert until(lambda: procs.run(web1.netns_path, "busybox", "wget", "-qO-", f"http://{db_ip}/",
                                   timeout=3).stdout == "db\n")
    # client is only on front: routed through the host, dropped by the isolation rule
    r = procs.run(client.netns_path, "busybox", "wget", "-qO-", f"http://{db_ip}/", timeout=2)
    assert r.returncode != 0 and r.stdout == ""
    # internal network: no default route, nothing outside the subnet is reachable
    lonely = stack["lonely"]
    routes = procs.run(lonely.netns_path, "ip", "-4", "route").stdout
    assert "default" not in routes and lonely.endpoints[0].address.rsplit(".", 1)[0] in routes
    r = procs.run(lonely.netns_path, "busybox", "ping", "-c1", "-W1", stack["web1"].addresses["t_front"])
    assert r.returncode != 0 and "unreachable" in (r.stderr + r.stdout).lower()


def test_published_tcp_and_udp(stack: dict[str, Sandbox], nm: NetworkManager, procs, tmp_path: Path) -> None:
    web1 = stack["web1"]
    procs.httpd(web1.netns_path, tmp_path / "pub", "published\n")
    procs.udp_echo(web1.netns_path, 5353)
    tcp = nm.ports(web1.id, 80)[0]
    udp = nm.ports(web1.id, 5353, "udp")[0]
    assert tcp.host_port > 0 and udp.host_ip == "127.0.0.1"

    def http(host: str = "127.0.0.1") -> str:
        return subprocess.run(["busybox", "wget", "-qO-", f"http://{host}:{tcp.host_port}/"],
                              capture_output=True, text=True, timeout=5).stdout

    assert until(lambda: http() == "published\n")
    assert http(web1.endpoints[0].gateway) == "published\n"  # any host address, not only loopback
    if socket.has_ipv6 and [p for p in nm.ports(web1.id, 80) if p.host_ip == "::"]:
        with socket.create_connection(("::1", tcp.host_port), timeout=3) as conn:  # and IPv6, like Docker
            conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert conn.recv(4096).startswith(b"HTTP/1.")

    def echo() -> bytes:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            s.sendto(b"ping", ("127.0.0.1", udp.host_port))
            try:
                return s.recv(100)
            except TimeoutError:
                return b""

    assert until(lambda: echo() == b"echo:ping")


def test_firewall_rules_follow_the_network(nm: NetworkManager) -> None:
    rec = nm.ensure_network(NetworkConfig("t_fw", "t"))
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert f"stackfile_{rec.bridge}" in tables
    if firewall.forward_policy_drops():  # Docker's default: our ACCEPT rules must be there
        rules = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True).stdout
        assert rules.count(f"stackfile:{rec.bridge}") == 4
    nm.remove_network("t_fw")
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    rules = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True).stdout
    assert rec.bridge not in tables and rec.bridge not in rules


def test_unknown_names_go_to_the_containers_dns_servers(nm: NetworkManager, procs) -> None:
    """Names the stack does not know are forwarded to the service's ``dns:`` (here a fake upstream
    on the host's loopback, answering 10.89.77.77 for everything)."""
    import threading

    from stackfile.network.dns.wire import answer, parse_question

    upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        upstream.bind(("127.0.0.1", 53))
    except OSError:
        upstream.close()
        pytest.skip("127.0.0.1:53 is taken on this host")
    upstream.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                data, addr = upstream.recvfrom(2048)
            except TimeoutError:
                continue
            q = parse_question(data)
            if q is not None:
                upstream.sendto(answer(data, q, [ipaddress.IPv4Address("10.89.77.77")]), addr)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    nm.ensure_network(NetworkConfig("t_fwd", "t"))
    sb = nm.create_sandbox(sid("fwd"), [Attachment("t_fwd", ("fwd",))], dns=["127.0.0.1"],
                           dns_search=["corp.test"], dns_options=["ndots:1"])
    try:
        assert sb.resolv_conf.endswith("search corp.test\noptions ndots:1\n")
        gateway = sb.endpoints[0].gateway
        out = procs.run(sb.netns_path, "busybox", "nslookup", "elsewhere.test", gateway).stdout
        assert "10.89.77.77" in out
        assert "10.89.77.77" not in procs.run(sb.netns_path, "busybox", "nslookup", "fwd", gateway).stdout
    finally:
        done.set()
        thread.join()
        upstream.close()
        nm.destroy_sandbox(sb.id)
        nm.remove_network("t_fwd")


def test_bridge_mac_stays_put_when_containers_join(stack: dict[str, Sandbox], nm: NetworkManager,
                                                   procs) -> None:
    """A bridge without a fixed MAC takes its lowest port MAC: joining containers then changed the
    gateway's MAC under everyone's ARP cache, and DNS queries to it were lost for ~5 s."""
    bridge = nm.get_network("t_front").bridge
    before = Path(f"/sys/class/net/{bridge}/address").read_text()
    client = stack["client"]
    dns = client.endpoints[0].gateway
    for n in range(4):
        extra = nm.create_sandbox(sid(f"join{n}"), [Attachment("t_front", ("joiner",))])
        try:
            assert Path(f"/sys/class/net/{bridge}/address").read_text() == before
            started = time.monotonic()
            out = procs.run(client.netns_path, "busybox", "nslookup", "joiner", dns).stdout
            assert extra.addresses["t_front"] in out and time.monotonic() - started < 2.0
        finally:
            nm.destroy_sandbox(extra.id)
