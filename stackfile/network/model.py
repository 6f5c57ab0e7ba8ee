"""Value objects of the network package: what callers ask for and what they get back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Attachment",
    "BoundPort",
    "Endpoint",
    "NetworkConfig",
    "NetworkRecord",
    "PortBinding",
    "Sandbox",
]


@dataclass(frozen=True)
class NetworkConfig:
    """A network as the stack file describes it; ``name`` is the real (project-prefixed) name."""

    name: str
    project: str = ""
    subnet: str | None = None
    gateway: str | None = None
    internal: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    driver: str = "bridge"
    driver_opts: Mapping[str, Any] = field(default_factory=dict)
    enable_ipv6: bool = False
    external: bool = False


@dataclass(frozen=True)
class NetworkRecord:
    """A network that exists: its bridge, subnet, gateway and the DNS server's pid."""

    name: str
    id: str
    project: str
    bridge: str
    subnet: str
    gateway: str
    internal: bool
    labels: Mapping[str, str]
    driver_opts: Mapping[str, Any]
    created_at: str
    dns_pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "Name": self.name, "Id": self.id, "Project": self.project, "Driver": "bridge",
            "Bridge": self.bridge, "Subnet": self.subnet, "Gateway": self.gateway,
            "Internal": self.internal, "Labels": dict(sorted(self.labels.items())),
            "Options": dict(sorted(self.driver_opts.items())), "Created": self.created_at,
            "DNSPid": self.dns_pid,
        }


@dataclass(frozen=True)
class Attachment:
    """One container's membership of one network: the names it answers to and an optional fixed IP."""

    network: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    mac: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """A sandbox's interface on one network."""

    network: str
    ifname: str  # inside the sandbox: eth0, eth1, ...
    host_ifname: str
    address: str
    prefixlen: int
    gateway: str
    aliases: tuple[str, ...]
    mac: str = ""


@dataclass(frozen=True)
class PortBinding:
    """One ``ports:`` entry: ``host_port`` None or "" = random; ``"8000-8010"`` = first free in range."""

    container_port: int
    host_port: str | None = None
    host_ip: str = ""
    protocol: str = "tcp"


@dataclass(frozen=True)
class BoundPort:
    """A published port as bound on the host."""

    host_ip: str
    host_port: int
    container_port: int
    protocol: str

    def __str__(self) -> str:
        ip = self.host_ip or "0.0.0.0"
        return f"{f'[{ip}]' if ':' in ip else ip}:{self.host_port}->{self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class Sandbox:
    """A container's network namespace and what goes into its /etc files.

    Pass ``NetworkAttachment(mode="path", netns_path=sandbox.netns_path)``, ``etc_hosts`` and
    ``resolv_conf`` to the runtime's ``ContainerSpec``.
    """

    id: str
    netns_path: str
    endpoints: tuple[Endpoint, ...]
    etc_hosts: str
    resolv_conf: str
    ports: tuple[BoundPort, ...] = ()

    @property
    def addresses(self) -> dict[str, str]:
        """network name -> IPv4 address."""
        return {e.network: e.address for e in self.endpoints}
