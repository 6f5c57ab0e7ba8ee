"""Sandboxes: a container's network namespace, its veths, addresses, names and published ports.

Order (as CNI): bind the published ports (a port in use fails first), record the sandbox and
allocate its addresses in one transaction, create the namespace file, one veth per network with
the peer created directly inside it as eth0, eth1..., configure addresses and the default route
from inside, then start the port proxy. Any failure undoes all of it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from ipaddress import IPv4Network
from pathlib import Path
from typing import TYPE_CHECKING

from stackfile.errors import Conflict, InvalidSpec, Location, NotFound
from stackfile.network import firewall, helpers, ipam, links, rows
from stackfile.network.etcfiles import hosts_file, parse_extra_hosts, resolv_conf
from stackfile.network.model import Attachment, BoundPort, Endpoint, NetworkRecord, PortBinding, Sandbox
from stackfile.network.names import ports_table, veth_name
from stackfile.network.netns import concurrently, create_netns, remove_netns
from stackfile.network.ports import bind_all
from stackfile.network.schema import immediate
from stackfile.store import journal

if TYPE_CHECKING:
    from stackfile.store.paths import StorePaths

__all__ = ["SandboxOps"]

PROXYD = "stackfile.network.proxyd"


class SandboxOps:
    """The sandbox half of :class:`~stackfile.network.manager.NetworkManager`."""

    paths: StorePaths
    resolv_conf: Path

    @property
    def conn(self) -> sqlite3.Connection:
        raise NotImplementedError

    def get_network(self, name: str) -> NetworkRecord | None:
        raise NotImplementedError

    def netns_path(self, sandbox_id: str) -> Path:
        """Where the sandbox's namespace is bind-mounted (what the runtime joins)."""
        return self.paths.netns / sandbox_id

    def create_sandbox(
        self,
        sandbox_id: str,
        attachments: Sequence[Attachment] = (),
        *,
        hostname: str = "",
        extra_hosts: Mapping[str, str] | Iterable[str] | None = (),
        dns: str | Sequence[str] | None = (),
        dns_search: str | Sequence[str] | None = (),
        dns_options: str | Sequence[str] | None = (),
        ports: Sequence[PortBinding] = (),
        link_aliases: Sequence[tuple[str, str]] = (),
        who: str = "",
    ) -> Sandbox:
        """Make the sandbox; ``who`` (the service name) only improves error messages.

        ``link_aliases`` (``links``) are (alias, name) pairs: for this sandbox's DNS queries the
        alias answers as the name does. An ``extra_hosts`` address ``host-gateway`` becomes the
        gateway of the sandbox's first network (Docker writes its host's address on the default
        bridge)."""
        extra = parse_extra_hosts(extra_hosts or (), who)
        dns, dns_search, dns_options = _strs(dns), _strs(dns_search), _strs(dns_options)
        nets = [self._network_for(a, who) for a in attachments]
        names = [a.network for a in attachments]
        if len(set(names)) != len(names):
            raise InvalidSpec(f"service {who!r} attaches to the same network twice: {names}",
                              location=Location(key_path=f"services.{who}.networks" if who else None))
        if ports and not nets:
            raise InvalidSpec(f"service {who!r} publishes ports but has no network",
                              location=Location(key_path=f"services.{who}.ports"))
        bound = bind_all(ports, who)
        try:
            self._record(sandbox_id, attachments, nets, hostname, _gateway_for(extra, nets, who),
                         (dns, dns_search, dns_options), bound, who, link_aliases)
        except BaseException:
            for sock, _ in bound:
                sock.close()
            raise
        try:
            self._plumb(sandbox_id, nets)
            if bound:
                self._start_proxy(sandbox_id, bound)
        except BaseException:
            self.destroy_sandbox(sandbox_id)
            raise
        finally:
            for sock, _ in bound:
                sock.close()
        for net in nets:
            self._event("connect", net, sandbox_id)
        return self.sandbox(sandbox_id)

    def _event(self, action: str, net: NetworkRecord, sandbox_id: str) -> None:
        journal.record(self.paths.root_str, "network", action, net.id,
                       {"container": sandbox_id, "name": net.name, "type": "bridge"})

    def _network_for(self, att: Attachment, who: str) -> NetworkRecord:
        rec = self.get_network(att.network)
        if rec is None:
            raise NotFound(f"network {att.network!r} not found" + (f" (service {who!r})" if who else ""),
                           location=Location(key_path=f"services.{who}.networks" if who else None),
                           hint="declare it under the top-level networks: key")
        return rec

    def _record(self, sandbox_id: str, atts: Sequence[Attachment], nets: Sequence[NetworkRecord],
                hostname: str, extra: list[tuple[str, str]], dns: tuple[list[str], list[str], list[str]],
                bound: list[tuple[socket.socket, BoundPort]], who: str,
                link_aliases: Sequence[tuple[str, str]] = ()) -> None:
        conn = self.conn
        with immediate(conn):
            if conn.execute("SELECT 1 FROM sandboxes WHERE id = ?", (sandbox_id,)).fetchone():
                raise Conflict(f"sandbox {sandbox_id[:12]} already exists")
            conn.execute(
                "INSERT INTO sandboxes(id, netns_path, hostname, extra_hosts, dns, hosts_files, ports, "
                "proxy_pid, created_at, resolv, links) VALUES (?,?,?,?,?,?,?,NULL,?,?,?)",
                (sandbox_id, str(self.netns_path(sandbox_id)), hostname, json.dumps(extra),
                 json.dumps(dns[0]), "[]", _ports_json([b for _, b in bound]),
                 datetime.now(UTC).isoformat(), json.dumps([dns[1], dns[2]]),
                 json.dumps(sorted([str(a).lower(), str(n).lower()] for a, n in link_aliases))),
            )
            for i, (att, net) in enumerate(zip(atts, nets, strict=True)):
                used = [r[0] for r in conn.execute("SELECT address FROM endpoints WHERE network = ?",
                                                   (net.name,))]
                subnet = IPv4Network(net.subnet)
                addr = ipam.choose_address(net.name, subnet, ipam.IPv4Address(net.gateway), used,
                                           att.ipv4_address, who)
                conn.execute(
                    "INSERT INTO endpoints(sandbox_id, network, ifname, host_ifname, address, aliases, mac) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (sandbox_id, net.name, f"eth{i}", veth_name(self.paths, sandbox_id, net.name), str(addr),
                     json.dumps(sorted(set(att.aliases))), att.mac or ipam.mac_for(addr)),
                )

    def _plumb(self, sandbox_id: str, nets: Sequence[NetworkRecord]) -> None:
        path = self.netns_path(sandbox_id)
        create_netns(path)
        eps = self._endpoints(sandbox_id)
        bridges = {n.name: n.bridge for n in nets}
        for ep in eps:
            links.add_veth(ep.host_ifname, ep.ifname, str(path), bridges[ep.network], ep.mac or None)
        internal = {n.name for n in nets if n.internal}
        gateway = next((ep.gateway for ep in eps if ep.network not in internal), None)
        links.configure_inside(str(path), links.InsideConfig(
            tuple((ep.ifname, ep.address, ep.prefixlen) for ep in eps), gateway))

    def _endpoints(self, sandbox_id: str) -> list[Endpoint]:
        return [rows.endpoint(r) for r in self.conn.execute(rows.ENDPOINTS, (sandbox_id,))]

    def sandbox(self, sandbox_id: str) -> Sandbox:
        """The sandbox as recorded (NotFound if there is none)."""
        row = self.conn.execute("SELECT * FROM sandboxes WHERE id = ?", (sandbox_id,)).fetchone()
        if row is None:
            raise NotFound(f"no network sandbox for container {sandbox_id[:12]}")
        eps = tuple(self._endpoints(sandbox_id))
        extra = [tuple(p) for p in json.loads(row["extra_hosts"])]
        host_text = self.resolv_conf.read_text() if self.resolv_conf.exists() else ""
        dns_search, dns_options = json.loads(row["resolv"])
        return Sandbox(
            id=sandbox_id, netns_path=row["netns_path"], endpoints=eps,
            etc_hosts=hosts_file(row["hostname"], [e.address for e in eps], extra),
            resolv_conf=resolv_conf(eps[0].gateway if eps else None, dns_search, dns_options, host_text),
            ports=rows.ports(row["ports"]),
        )

    def sandbox_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM sandboxes ORDER BY id")]

    def destroy_sandbox(self, sandbox_id: str) -> None:
        """Release everything of the sandbox (idempotent; works after the container was SIGKILLed).

        The veths are deleted explicitly (over a raw netlink socket: no pyroute2 import on the
        teardown path), so they are gone when this returns even if a process still holds the
        namespace; leaving them to the kernel's batched namespace cleanup measured no faster."""
        row = self.conn.execute("SELECT proxy_pid, ports FROM sandboxes WHERE id = ?",
                                (sandbox_id,)).fetchone()
        dnat = row is not None and row["ports"] != "[]"
        side = concurrently(firewall.remove_ports, ports_table(self.paths, sandbox_id)) if dnat else None
        endpoints = self._endpoints(sandbox_id)
        with side or contextlib.nullcontext():
            if row is not None:
                helpers.stop(row["proxy_pid"], sandbox_id)
            for ep in endpoints:
                links.delete_link(ep.host_ifname)
            remove_netns(self.netns_path(sandbox_id))
        with immediate(self.conn) as conn:
            conn.execute("DELETE FROM endpoints WHERE sandbox_id = ?", (sandbox_id,))
            conn.execute("DELETE FROM sandboxes WHERE id = ?", (sandbox_id,))
        for ep in endpoints:
            net = self.get_network(ep.network)
            if net is not None:
                self._event("disconnect", net, sandbox_id)

    # ------------------------------------------------------------------ published ports
    def publish(self, sandbox_id: str, ports: Sequence[PortBinding], who: str = "") -> list[BoundPort]:
        """(Re)publish the sandbox's ports: replaces what was published before."""
        self.unpublish(sandbox_id)
        bound = bind_all(ports, who)
        try:
            if bound:
                self._start_proxy(sandbox_id, bound)
        finally:
            for sock, _ in bound:
                sock.close()
        return [b for _, b in bound]

    def unpublish(self, sandbox_id: str) -> None:
        """Stop the sandbox's port proxy; its host ports are free again."""
        sb = self.sandbox(sandbox_id)
        row = self.conn.execute("SELECT proxy_pid FROM sandboxes WHERE id = ?", (sandbox_id,)).fetchone()
        helpers.stop(row["proxy_pid"], sandbox_id)
        if sb.ports:
            firewall.remove_ports(ports_table(self.paths, sandbox_id))
        with immediate(self.conn) as conn:
            conn.execute("UPDATE sandboxes SET proxy_pid = NULL, ports = '[]' WHERE id = ?", (sb.id,))

    def suspend_ports(self, sandbox_id: str) -> None:
        """Free the host ports of a container that stopped (Docker releases them on stop) but keep
        them recorded, for :meth:`resume_ports` when it starts again. Idempotent; no sandbox, or no
        published ports, is nothing to do."""
        row = self.conn.execute("SELECT proxy_pid, ports FROM sandboxes WHERE id = ?",
                                (sandbox_id,)).fetchone()
        if row is None or row["proxy_pid"] is None:
            return
        helpers.stop(row["proxy_pid"], sandbox_id)
        if row["ports"] != "[]":
            firewall.remove_ports(ports_table(self.paths, sandbox_id))
        with immediate(self.conn) as conn:
            conn.execute("UPDATE sandboxes SET proxy_pid = NULL WHERE id = ?", (sandbox_id,))

    def resume_ports(self, sandbox_id: str, who: str = "") -> list[BoundPort]:
        """Bind a stopped container's recorded host ports again, before it starts: the same port
        numbers (a ``Conflict`` naming the port if something took one meanwhile). Returns what was
        bound; nothing when its ports are already served (or it has none, or no sandbox)."""
        row = self.conn.execute("SELECT proxy_pid, ports FROM sandboxes WHERE id = ?",
                                (sandbox_id,)).fetchone()
        if row is None or row["proxy_pid"] is not None or row["ports"] == "[]":
            return []
        recorded = rows.ports(row["ports"])
        dual = {(p.host_port, p.container_port, p.protocol) for p in recorded if not p.host_ip}
        wanted = [PortBinding(p.container_port, str(p.host_port), p.host_ip, p.protocol) for p in recorded
                  if not (p.host_ip == "::" and (p.host_port, p.container_port, p.protocol) in dual)]
        bound = bind_all(wanted, who)  # an empty host_ip binds IPv6 too, as when first published
        try:
            self._start_proxy(sandbox_id, bound)
        finally:
            for sock, _ in bound:
                sock.close()
        return [b for _, b in bound]

    def ports(self, sandbox_id: str, container_port: int | None = None,
              protocol: str = "tcp") -> list[BoundPort]:
        """What is published for the sandbox (``stackfile port``), optionally one container port."""
        return [p for p in self.sandbox(sandbox_id).ports
                if container_port is None or (p.container_port == container_port and p.protocol == protocol)]

    def _start_proxy(self, sandbox_id: str, bound: list[tuple[socket.socket, BoundPort]]) -> None:
        target = self._endpoints(sandbox_id)[0].address
        args = ["--sandbox", sandbox_id, "--db", str(self.paths.db)]
        for sock, b in bound:
            args += ["--map", f"{sock.fileno()}:{b.protocol}:{target}:{b.container_port}"]
        args += ["--nft-table", ports_table(self.paths, sandbox_id)]  # the proxy loads its DNAT table
        pid = helpers.spawn(PROXYD, args, [s for s, _ in bound], self.paths.networks / "proxy.log")
        with immediate(self.conn) as conn:
            conn.execute("UPDATE sandboxes SET proxy_pid = ?, ports = ? WHERE id = ?",
                         (pid, _ports_json([b for _, b in bound]), sandbox_id))


def _gateway_for(extra: list[tuple[str, str]], nets: Sequence[NetworkRecord],
                 who: str) -> list[tuple[str, str]]:
    """``extra_hosts`` with ``host-gateway`` replaced by the first (non-internal) network's gateway."""
    if not any(addr == "host-gateway" for _, addr in extra):
        return extra
    gateway = next((n.gateway for n in nets if not n.internal), nets[0].gateway if nets else None)
    if gateway is None:
        raise InvalidSpec(f"service {who!r}: extra_hosts host-gateway needs a network",
                          location=Location(key_path=f"services.{who}.extra_hosts" if who else None),
                          hint="attach the service to a network, or give the address")
    return sorted((name, gateway if addr == "host-gateway" else addr) for name, addr in extra)


def _strs(value: str | Sequence[str] | None) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _ports_json(ports: Sequence[BoundPort]) -> str:
    return json.dumps([[p.host_ip, p.host_port, p.container_port, p.protocol] for p in ports])
