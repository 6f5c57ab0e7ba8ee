"""Value objects of the network package: what callers ask for and what they get back.

NamedTuples with real (not string) annotations: the seven of them as frozen dataclasses cost
~5 ms to define on every ``up`` (a dataclass execs its generated methods). Change one with
``value._replace(...)``; mapping defaults are one shared read-only empty mapping.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

_EMPTY: Mapping[str, Any] = MappingProxyType({})

__all__ = [
    "Attachment",
    "BoundPort",
    "Endpoint",
    "NetworkConfig",
    "NetworkRecord",
    "PortBinding",
    "Sandbox",
]


class NetworkConfig(NamedTuple):
    """A network as the stack file describes it; ``name`` is the real (project-prefixed) name."""

    name: str
    project: str = ""
    subnet: str | None = None
    gateway: str | None = None
    internal: bool = False
    labels: Mapping[str, str] = _EMPTY
    driver: str = "bridge"
    driver_opts: Mapping[str, Any] = _EMPTY
    enable_ipv6: bool = False
    external: bool = False


class NetworkRecord(NamedTuple):
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


class Attachment(NamedTuple):
    """One container's membership of one network: the names it answers to and an optional fixed IP."""

    network: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    mac: str | None = None


class Endpoint(NamedTuple):
    """A sandbox's interface on one network."""

    network: str
    ifname: str  # inside the sandbox: eth0, eth1, ...
    host_ifname: str
    address: str
    prefixlen: int
    gateway: str
    aliases: tuple[str, ...]
    mac: str = ""


class PortBinding(NamedTuple):
    """One ``ports:`` entry: ``host_port`` None or "" = random; ``"8000-8010"`` = first free in range."""

    container_port: int
    host_port: str | None = None
    host_ip: str = ""
    protocol: str = "tcp"


class BoundPort(NamedTuple):
    """A published port as bound on the host."""

    host_ip: str
    host_port: int
    container_port: int
    protocol: str

    def __str__(self) -> str:
        ip = self.host_ip or "0.0.0.0"
        return f"{f'[{ip}]' if ':' in ip else ip}:{self.host_port}->{self.container_port}/{self.protocol}"


class Sandbox(NamedTuple):
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
