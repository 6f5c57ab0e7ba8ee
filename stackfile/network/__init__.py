"""stackfile.network: bridges, sandboxes, IPAM, service discovery and published ports.

Netlink is spoken directly (``rtnl``): importing pyroute2 costs ~110 ms, more than a third of a
5-service ``up``. The tests read what was made back through pyroute2, an independent implementation.

Words
-----
- *network*: a Linux bridge ``sf<10 hex>`` (unique per store root and name) holding the gateway
  address of a subnet (a /24 out of 10.89.0.0/16 unless ``ipam.config.subnet`` says otherwise),
  an nftables table ``stackfile_<bridge>`` (masquerade, isolation from other networks, internal
  lock-down), ACCEPT rules in iptables' FORWARD chain when its policy drops (Docker hosts), and a
  DNS server process answering on ``<gateway>:53``.
- *sandbox*: one container's network namespace, bind-mounted at ``StorePaths.netns/<id>``, with
  one veth per network (``eth0``, ``eth1``... inside, ``sv<12 hex>`` on the bridge).

Lifecycle (what the reconciler calls)
-------------------------------------
::

    nm = NetworkManager(paths)
    nm.ensure_network(NetworkConfig(name="proj_default", project="proj"))        # idempotent
    sb = nm.create_sandbox(container_id,
                           [Attachment("proj_default", aliases=("web", "proj-web-1"))],
                           hostname="web", extra_hosts=["db.local=10.1.2.3"], dns=(),
                           ports=[PortBinding(80, "8080")], who="web")
    spec = ContainerSpec(..., network=NetworkAttachment(mode="path", netns_path=sb.netns_path),
                         etc_hosts=sb.etc_hosts, resolv_conf=sb.resolv_conf)
    ...                                           # runtime.create + start
    nm.destroy_sandbox(container_id)              # after the container is removed (or SIGKILLed)
    nm.remove_network("proj_default")             # Conflict while containers are attached

- ``Attachment.aliases`` are *all* names the container answers to on that network: the reconciler
  passes the service name, the container name and the service's ``aliases``. Replicas share the
  service name, so it resolves to every replica's address.
- ``network_mode: host`` → ``NetworkAttachment(mode="host")``; ``none`` → ``create_sandbox(id)``
  with no attachments (only ``lo``) or ``NetworkAttachment(mode="none")``; ``service:NAME`` /
  ``container:ID`` → ``NetworkAttachment(mode="path", netns_path=nm.netns_path(<that id>))``.
- Ports: ``create_sandbox(..., ports=...)`` binds the host sockets *first* (``Conflict`` naming
  the port before anything is made); ``publish``/``unpublish``/``ports`` manage them later.
  A detached proxy process per sandbox relays to the container's first address.
- Proxy and DNAT, as Docker does (measured in bench/network.py): the proxy owns the host sockets
  (so a port in use is an exact ``Conflict``) and serves loopback and container clients; DNAT on
  127.0.0.1 would need ``route_localnet=1`` host-wide, a known security hole. Clients from other
  hosts are DNAT-ed (table ``stackfile_p<hash>`` per sandbox) so the container sees their real
  address, at the cost of direct routing (~0.4 ms per new HTTP connection vs ~0.7 via the proxy).
- Discovery: the DNS server identifies the querying container by its source address and answers
  the names of every sandbox sharing a network with it, plus its own ``extra_hosts``; other
  names are forwarded to its ``dns:`` servers or the host's resolvers (not on internal networks).
  Names are read from the store per query, so they are current as containers come and go, and a
  service name answers with every replica's address (TC set over 512 bytes: clients retry on TCP).
  ``/etc/hosts`` holds only localhost, the container's own name and ``extra_hosts``.
- Helper processes (DNS, proxy) are started with sockets the caller bound, in their own session;
  they exit by themselves when their network/sandbox row (or the whole store) disappears, and
  ``helpers.stop`` waits on a pidfd, so their sockets are free when it returns.
- Subnets: the lowest free /24 under a host-wide lock, skipping what any store records, what the
  host has addresses or routes in, and gateways whose port 53 is bound (a DNS server of another
  root outliving its bridge); a DNS bind that still fails moves on to the next subnet.
- Teardown (``destroy_sandbox``, ``remove_network``) needs no pyroute2 (raw rtnetlink deletes in
  :mod:`~stackfile.network.rtnl`); the firewall tools run beside the netlink work.
"""

from __future__ import annotations

from stackfile.network.manager import NetworkManager
from stackfile.network.model import (
    Attachment,
    BoundPort,
    Endpoint,
    NetworkConfig,
    NetworkRecord,
    PortBinding,
    Sandbox,
)

__all__ = [
    "Attachment",
    "BoundPort",
    "Endpoint",
    "NetworkConfig",
    "NetworkManager",
    "NetworkRecord",
    "PortBinding",
    "Sandbox",
]
