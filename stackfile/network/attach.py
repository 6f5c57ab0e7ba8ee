"""Changes to a sandbox that lives: connect to a network, disconnect from one, rename.

``network connect`` adds a veth to the running container's namespace (its peer created directly
inside it as the next free ``ethN``), with an address from the network's IPAM and the names the
network's DNS serves; ``disconnect`` deletes it. Both are recorded in the endpoints table, which
the DNS servers read for every query, so names appear and disappear at once. A rename moves the
sandbox (its records, names and namespace file) to the container's new name.
"""

from __future__ import annotations

import json
import sqlite3
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import TYPE_CHECKING

from stackfile.errors import Conflict, NotFound
from stackfile.network import ipam, links, rows
from stackfile.network.model import Attachment, BoundPort, Endpoint, NetworkRecord, Sandbox
from stackfile.network.names import veth_name
from stackfile.network.schema import immediate

if TYPE_CHECKING:
    from stackfile.store.paths import StorePaths

__all__ = ["AttachOps"]

# the sandboxes table's columns, id and netns_path first (a rename copies the row under a new id)
_COLUMNS = ("id, netns_path, hostname, extra_hosts, dns, hosts_files, ports, proxy_pid, created_at, resolv, "
            "links")


class AttachOps:
    """The live-change half of :class:`~stackfile.network.manager.NetworkManager`."""

    paths: StorePaths

    @property
    def conn(self) -> sqlite3.Connection:
        raise NotImplementedError

    def inspect_network(self, name: str) -> NetworkRecord:
        raise NotImplementedError

    def sandbox(self, sandbox_id: str) -> Sandbox:
        raise NotImplementedError

    def suspend_ports(self, sandbox_id: str) -> None:
        raise NotImplementedError

    def destroy_sandbox(self, sandbox_id: str) -> None:
        raise NotImplementedError

    def resume_ports(self, sandbox_id: str, who: str = "") -> list[BoundPort]:
        raise NotImplementedError

    def _row(self, sandbox_id: str, who: str) -> sqlite3.Row:
        row = self.conn.execute("SELECT * FROM sandboxes WHERE id = ?", (sandbox_id,)).fetchone()
        if row is None:
            raise NotFound(f"container {who or sandbox_id!r} has no network of its own to change",
                           hint="only containers on bridge networks (not network_mode host, none or "
                                "container:...) can be connected to or disconnected from networks")
        return row

    def connect(self, sandbox_id: str, att: Attachment, who: str = "") -> Endpoint:
        """Attach the sandbox to ``att.network`` now: veth, address, names; returns the endpoint."""
        row = self._row(sandbox_id, who)
        net = self.inspect_network(att.network)
        conn = self.conn
        with immediate(conn):
            eps = [rows.endpoint(r) for r in conn.execute(rows.ENDPOINTS, (sandbox_id,))]
            if any(e.network == net.name for e in eps):
                raise Conflict(f"container {who or sandbox_id!r} is already connected to network "
                               f"{net.name!r}",
                               hint="disconnect it first to change its address or aliases")
            taken = {int(e.ifname[3:]) for e in eps if e.ifname.startswith("eth") and e.ifname[3:].isdigit()}
            ifname = f"eth{next(i for i in range(len(taken) + 1) if i not in taken)}"
            used = [r[0] for r in conn.execute("SELECT address FROM endpoints WHERE network = ?",
                                               (net.name,))]
            addr = ipam.choose_address(net.name, IPv4Network(net.subnet), IPv4Address(net.gateway), used,
                                       att.ipv4_address, who)
            host = veth_name(self.paths, sandbox_id, net.name)
            conn.execute(
                "INSERT INTO endpoints(sandbox_id, network, ifname, host_ifname, address, aliases, mac) "
                "VALUES (?,?,?,?,?,?,?)",
                (sandbox_id, net.name, ifname, host, str(addr), json.dumps(sorted(set(att.aliases))),
                 att.mac or ipam.mac_for(addr)))
        has_route = any(e.network != net.name for e in eps if not self._internal(e.network))
        try:
            links.add_veth(host, ifname, row["netns_path"], net.bridge, att.mac or ipam.mac_for(addr))
            links.configure_inside(row["netns_path"], links.InsideConfig(
                ((ifname, str(addr), IPv4Network(net.subnet).prefixlen),),
                None if has_route or net.internal else net.gateway))
        except BaseException:
            links.delete_link(host)
            with immediate(self.conn) as c:
                c.execute("DELETE FROM endpoints WHERE sandbox_id = ? AND network = ?",
                          (sandbox_id, net.name))
            raise
        return next(e for e in self.sandbox(sandbox_id).endpoints if e.network == net.name)

    def _internal(self, network: str) -> bool:
        row = self.conn.execute("SELECT internal FROM networks WHERE name = ?", (network,)).fetchone()
        return bool(row and row[0])

    def disconnect(self, sandbox_id: str, network: str, who: str = "") -> None:
        """Detach the sandbox from ``network`` now: its veth goes, and with it its names."""
        self._row(sandbox_id, who)
        net = self.inspect_network(network)
        ep = next((e for e in self.sandbox(sandbox_id).endpoints if e.network == net.name), None)
        if ep is None:
            raise NotFound(f"container {who or sandbox_id!r} is not connected to network {net.name!r}")
        links.delete_link(ep.host_ifname)
        with immediate(self.conn) as conn:
            conn.execute("DELETE FROM endpoints WHERE sandbox_id = ? AND network = ?", (sandbox_id, net.name))

    def rename_sandbox(self, old: str, new: str, who: str = "") -> str | None:
        """Move the sandbox ``old`` to the id ``new``: records, names the DNS serves (the old
        container name becomes the new one among each endpoint's aliases), published ports (their
        proxy restarts under the new id) and the namespace file. Returns the new namespace path,
        or None when there is no sandbox ``old`` (host, none or container:... network modes)."""
        from stackfile.network.netns import move_netns, remove_netns

        row = self.conn.execute("SELECT proxy_pid, netns_path FROM sandboxes WHERE id = ?",
                                (old,)).fetchone()
        if row is None:
            return None
        if self.conn.execute("SELECT 1 FROM sandboxes WHERE id = ?", (new,)).fetchone() is not None:
            self.destroy_sandbox(new)  # the caller holds the name: a leftover of a crashed run
        serving = row["proxy_pid"] is not None
        if serving:
            self.suspend_ports(old)
        path = Path(row["netns_path"]).with_name(new)
        remove_netns(path)  # a leftover file (no record names it)
        move_netns(Path(row["netns_path"]), path)
        with immediate(self.conn) as conn:
            conn.execute(f"INSERT INTO sandboxes({_COLUMNS}) SELECT ?, ?, {_COLUMNS.split(', ', 2)[2]} "
                         "FROM sandboxes WHERE id = ?", (new, str(path), old))
            for ep in conn.execute("SELECT network, aliases FROM endpoints WHERE sandbox_id = ?",
                                   (old,)).fetchall():
                aliases = {new if a == old else a for a in json.loads(ep["aliases"])}
                conn.execute("UPDATE endpoints SET sandbox_id = ?, aliases = ? WHERE sandbox_id = ? "
                             "AND network = ?", (new, json.dumps(sorted(aliases)), old, ep["network"]))
            conn.execute("DELETE FROM sandboxes WHERE id = ?", (old,))
        if serving:
            self.resume_ports(new, who=who)
        return str(path)
