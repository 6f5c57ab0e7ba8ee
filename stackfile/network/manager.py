"""Network lifecycle: records in the store, a bridge, firewall rules and a DNS server per network."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from ipaddress import IPv4Network
from pathlib import Path

from stackfile.errors import Conflict, InvalidSpec, Location, NotFound, Unavailable
from stackfile.network import firewall, helpers, ipam, links, procnet, rows
from stackfile.network.attach import AttachOps
from stackfile.network.etcfiles import host_nameservers
from stackfile.network.model import NetworkConfig, NetworkRecord
from stackfile.network.names import bridge_name
from stackfile.network.netns import concurrently
from stackfile.network.sandbox import SandboxOps
from stackfile.network.schema import database, immediate
from stackfile.store import journal
from stackfile.store.paths import StorePaths

__all__ = ["HOST_LOCK", "NetworkManager"]

# Subnets are chosen under a host-wide lock: other store roots (and other tools) allocate from the
# same 10.89.0.0/16 and a subnet only becomes visible to them once our bridge holds its address.
HOST_LOCK = Path("/run/lock/stackfile-network.lock")
DNSD = "stackfile.network.dnsd"
_SUBNET_TRIES = 8


class _DnsPortTaken(Unavailable):
    """The gateway's port 53 is bound by a process we do not see in any record."""


@contextlib.contextmanager
def host_lock() -> Iterator[None]:
    HOST_LOCK.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(HOST_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _bind_retrying(sock: socket.socket, addr: tuple[str, int], seconds: float = 3.0) -> None:
    """Bind, waiting out a stale server of a removed network (it exits within ~2 s by itself)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            sock.bind(addr)
            return
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _check_same(rec: NetworkRecord, cfg: NetworkConfig) -> None:
    """An existing network must match what the stack file now asks for (as Compose checks)."""
    if cfg.external:
        return
    subnet = cfg.subnet
    with contextlib.suppress(ValueError):
        subnet = str(IPv4Network(cfg.subnet, strict=False)) if cfg.subnet else None
    wanted = {"ipam.config.subnet": (subnet, rec.subnet), "internal": (cfg.internal, rec.internal)}
    for key, (want, have) in wanted.items():
        if want is not None and want != have:
            raise Conflict(f"network {cfg.name!r} exists with {key} {have}, the stack file wants {want}",
                           location=Location(key_path=f"networks.{cfg.name}.{key}"),
                           hint="remove it first (stackfile down, or stackfile network rm)")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class NetworkManager(SandboxOps, AttachOps):
    """Networks and sandboxes of one store root (see the package doc for the lifecycle)."""

    def __init__(self, paths: StorePaths, *, resolv_conf: Path = Path("/etc/resolv.conf")) -> None:
        self.paths = paths
        self.resolv_conf = resolv_conf

    @property
    def conn(self) -> sqlite3.Connection:
        return database(self.paths)

    # ------------------------------------------------------------------ queries
    def get_network(self, name: str) -> NetworkRecord | None:
        row = self.conn.execute("SELECT * FROM networks WHERE name = ?", (name,)).fetchone()
        return rows.network(row) if row else None

    def inspect_network(self, name: str) -> NetworkRecord:
        """The network called ``name`` (or whose id starts with it); NotFound otherwise."""
        found = self.get_network(name)
        if found is None:
            row = self.conn.execute("SELECT * FROM networks WHERE substr(id, 1, ?) = ?",
                                    (len(name), name)).fetchall() if name else []
            if len(row) == 1:
                return rows.network(row[0])
            raise NotFound(f"network {name!r} not found", hint="stackfile network ls lists networks")
        return found

    def list_networks(self, project: str | None = None) -> list[NetworkRecord]:
        """All networks (of ``project`` when given), sorted by name."""
        sql, args = "SELECT * FROM networks ORDER BY name", tuple[str, ...]()
        if project is not None:
            sql, args = "SELECT * FROM networks WHERE project = ? ORDER BY name", (project,)
        return [rows.network(r) for r in self.conn.execute(sql, args)]

    def containers_on(self, name: str) -> list[str]:
        """Ids of the sandboxes attached to network ``name``."""
        q = "SELECT sandbox_id FROM endpoints WHERE network = ? ORDER BY sandbox_id"
        return [r[0] for r in self.conn.execute(q, (name,))]

    # ------------------------------------------------------------------ lifecycle
    def ensure_network(self, cfg: NetworkConfig) -> NetworkRecord:
        """The network ``cfg.name``, created (bridge, firewall, DNS) if missing; repaired if broken."""
        existing = self.get_network(cfg.name)
        if existing is not None:
            _check_same(existing, cfg)
            return self._repair(existing)
        if cfg.external:
            raise NotFound(f"external network {cfg.name!r} not found",
                           location=Location(key_path=f"networks.{cfg.name}.external"),
                           hint=f"create it first: stackfile network create {cfg.name}")
        if (cfg.driver or "bridge") != "bridge":
            raise InvalidSpec(f"network {cfg.name!r}: driver {cfg.driver!r} is not supported",
                              location=Location(key_path=f"networks.{cfg.name}.driver"), hint="bridge")
        firewall.require()  # a network is made whole or not at all
        with host_lock():
            avoid: list[IPv4Network] = []
            while True:
                record = self._allocate(cfg, avoid)
                if record.dns_pid is not None:  # someone else created it meanwhile
                    return record
                links.delete_link(record.bridge)  # a leftover of a crash between bridge and record
                try:
                    return self._bring_up(record, wait=cfg.subnet is not None)
                except _DnsPortTaken:
                    self._tear_down(record)
                    if cfg.subnet is not None or len(avoid) >= _SUBNET_TRIES:
                        raise
                    avoid.append(IPv4Network(record.subnet))  # a server we cannot see holds it: next one
                except BaseException:
                    self._tear_down(record)
                    raise

    def _allocate(self, cfg: NetworkConfig, avoid: list[IPv4Network]) -> NetworkRecord:
        conn = self.conn
        with immediate(conn):
            row = conn.execute("SELECT * FROM networks WHERE name = ?", (cfg.name,)).fetchone()
            if row is not None:
                return rows.network(row)
            used = [IPv4Network(r[0]) for r in conn.execute("SELECT subnet FROM networks")]
            used += links.host_subnets() + avoid
            used += [IPv4Network(a) for a in procnet.bound_addresses(53)]  # DNS servers outliving a bridge
            if cfg.subnet:
                subnet, gateway = ipam.parse_subnet(cfg.name, cfg.subnet, cfg.gateway)
                clash = ipam.overlapping(subnet, used)
                if clash is not None:
                    raise Conflict(f"network {cfg.name!r}: subnet {subnet} overlaps {clash}, already in use",
                                   location=Location(key_path=f"networks.{cfg.name}.ipam.config.subnet"),
                                   hint="choose a free subnet or leave it out to get one from 10.89.0.0/16")
            else:
                subnet = ipam.choose_subnet(cfg.name, used)
                gateway = next(subnet.hosts())
            created = _now()
            net_id = hashlib.sha256(f"{self.paths.root}\0{cfg.name}\0{created}".encode()).hexdigest()
            conn.execute(
                "INSERT INTO networks(name, id, project, bridge, subnet, gateway, internal, labels, "
                "driver_opts, created_at, dns_pid) VALUES (?,?,?,?,?,?,?,?,?,?,NULL)",
                (cfg.name, net_id, cfg.project, bridge_name(self.paths, cfg.name), str(subnet), str(gateway),
                 int(cfg.internal), json.dumps(dict(cfg.labels), sort_keys=True),
                 json.dumps(dict(cfg.driver_opts), sort_keys=True, default=str), created),
            )
            row = conn.execute("SELECT * FROM networks WHERE name = ?", (cfg.name,)).fetchone()
        return rows.network(row)

    def _bring_up(self, rec: NetworkRecord, wait: bool = True) -> NetworkRecord:
        net = IPv4Network(rec.subnet)
        pid = None
        try:
            with concurrently(firewall.install, rec.bridge, net, rec.internal):  # rules name the bridge
                links.create_bridge(rec.bridge, rec.gateway, net.prefixlen)
                pid = self._start_dns(rec, wait)
        except BaseException:
            helpers.stop(pid, rec.id)  # not recorded yet: the caller's tear-down cannot see it
            raise
        with immediate(self.conn) as conn:
            conn.execute("UPDATE networks SET dns_pid = ? WHERE name = ?", (pid, rec.name))
        journal.record(self.paths.root_str, "network", "create", rec.id, {"name": rec.name, "type": "bridge"})
        return self.inspect_network(rec.name)

    def is_sound(self, rec: NetworkRecord) -> bool:
        """The kernel has the record's bridge and its DNS server runs."""
        return links.link_exists(rec.bridge) and helpers.is_running(rec.dns_pid, rec.id)

    def _repair(self, rec: NetworkRecord) -> NetworkRecord:
        """After a reboot (or a crash) the bridge or the DNS server may be gone: bring them back,
        with the veths of the sandboxes still attached to it."""
        if self.is_sound(rec):
            return rec
        firewall.require()
        with host_lock():
            helpers.stop(rec.dns_pid, rec.id)
            had_bridge = links.link_exists(rec.bridge)
            fresh = self._bring_up(rec)
            if not had_bridge:
                q = "SELECT host_ifname FROM endpoints WHERE network = ? ORDER BY host_ifname"
                for (host_ifname,) in self.conn.execute(q, (rec.name,)).fetchall():
                    links.enslave(host_ifname, rec.bridge)
            return fresh

    def repair_network(self, name: str) -> NetworkRecord:
        """Bring back what the network ``name`` lost: bridge (with its veths), DNS server, rules."""
        rec = self._repair(self.inspect_network(name))
        firewall.install(rec.bridge, IPv4Network(rec.subnet), rec.internal)  # idempotent
        return rec

    def _start_dns(self, rec: NetworkRecord, wait: bool) -> int:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            for s in (udp, tcp):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                _bind_retrying(s, (rec.gateway, 53), 3.0 if wait else 0.0)
            tcp.listen(64)
            args = ["--db", str(self.paths.db), "--network", rec.id,
                    "--udp-fd", str(udp.fileno()), "--tcp-fd", str(tcp.fileno()),
                    "--upstream", ",".join(host_nameservers(self.resolv_conf))]
            if rec.internal:
                args.append("--internal")
            return helpers.spawn(DNSD, args, [udp, tcp], self.paths.networks / f"{rec.bridge}.dns.log")
        except OSError as exc:
            kind = _DnsPortTaken if exc.errno == errno.EADDRINUSE else Unavailable
            raise kind(f"network {rec.name!r}: cannot serve DNS on {rec.gateway}:53: {exc}",
                       hint="another process serves port 53 on that address") from None
        finally:
            udp.close()
            tcp.close()

    def remove_network(self, name: str) -> None:
        """Remove a network with no containers attached: DNS server, firewall rules, bridge, record."""
        rec = self.inspect_network(name)
        attached = self.containers_on(rec.name)
        if attached:
            raise Conflict(f"network {rec.name!r} has {len(attached)} container(s) attached",
                           detail="\n".join(a[:12] for a in attached),
                           hint="remove its containers first (stackfile down)")
        self._tear_down(rec)

    def _tear_down(self, rec: NetworkRecord) -> None:
        """The firewall tools run beside the netlink work; the DNS server is gone (its port 53
        free) before the bridge and its address go, so no other root can pick the subnet early."""
        with concurrently(firewall.remove, rec.bridge):
            helpers.stop(rec.dns_pid, rec.id)
            links.delete_link(rec.bridge)
        with immediate(self.conn) as conn:
            gone = conn.execute("DELETE FROM networks WHERE name = ?", (rec.name,)).rowcount
        if gone and rec.dns_pid is not None:  # it was up (a half-made one was never announced)
            journal.record(self.paths.root_str, "network", "destroy", rec.id,
                           {"name": rec.name, "type": "bridge"})

    def prune(self, project: str | None = None) -> list[str]:
        """Remove every network (of ``project``) that has no container attached; returns their names."""
        removed = []
        for rec in self.list_networks(project):
            if not self.containers_on(rec.name):
                self._tear_down(rec)
                removed.append(rec.name)
        return removed
