"""Host firewall for one network: masquerade, isolation, and the Docker FORWARD-DROP workaround.

Two mechanisms, each chosen because it can be removed atomically and found again without
bookkeeping:

- Our own rules live in one nftables table per network (``stackfile_<bridge>``), loaded with one
  ``nft -f`` transaction and removed with ``delete table``: masquerade of the subnet going out of
  any other interface (not for ``internal``), a drop of traffic between this bridge and any other
  stackfile bridge (network isolation), and for ``internal`` a drop of everything leaving or
  entering the bridge from elsewhere.
- Published ports reached from other hosts are DNAT-ed in a table per sandbox
  (``stackfile_p<hash>``), so the container sees the client's address; loopback and container
  traffic goes through the userland proxy (see :mod:`stackfile.network.proxy`).
- An ``accept`` in our table cannot override a ``drop`` in another table, so when the iptables
  FORWARD policy is DROP (Docker sets it; with br_netfilter even bridged traffic passes that
  chain) we insert ACCEPT rules at the top of iptables' FORWARD chain, each commented
  ``stackfile:<bridge>``, and delete them by that comment.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from ipaddress import IPv4Network
from pathlib import Path

from stackfile.errors import Internal, Unavailable
from stackfile.network.model import BoundPort
from stackfile.network.names import BRIDGE_PREFIX, nft_table

__all__ = ["forward_policy_drops", "install", "install_ports", "remove", "remove_ports"]

_COMMENT = "stackfile:{bridge}"


def _run(argv: list[str], stdin: str | None = None, check: bool = True) -> str:
    if shutil.which(argv[0]) is None:
        raise Unavailable(f"{argv[0]} is not installed", hint="apt-get install nftables iptables")
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise Internal(f"{' '.join(argv[:3])} failed: {proc.stderr.strip()}")
    return proc.stdout


def nft_script(bridge: str, subnet: IPv4Network, internal: bool) -> str:
    """The nftables transaction that (re)creates the network's table."""
    table = nft_table(bridge)
    nat = "" if internal else f'        ip saddr {subnet} oifname != "{bridge}" masquerade\n'
    fwd = f'        iifname "{bridge}" oifname != "{bridge}" oifname "{BRIDGE_PREFIX}*" drop\n'
    if internal:
        fwd += (f'        iifname "{bridge}" oifname != "{bridge}" drop\n'
                f'        oifname "{bridge}" iifname != "{bridge}" drop\n')
    return (
        f"table ip {table} {{}}\ndelete table ip {table}\n"
        f"table ip {table} {{\n"
        f"    chain postrouting {{\n        type nat hook postrouting priority srcnat; policy accept;\n"
        f"{nat}    }}\n"
        f"    chain forward {{\n        type filter hook forward priority -1; policy accept;\n"
        f"{fwd}    }}\n}}\n"
    )


def _iptables_rules(bridge: str, internal: bool) -> list[list[str]]:
    tag = ["-m", "comment", "--comment", _COMMENT.format(bridge=bridge)]
    rules = [["-i", bridge, "-o", bridge, *tag, "-j", "ACCEPT"]]
    if not internal:
        rules += [["-i", bridge, "!", "-o", bridge, *tag, "-j", "ACCEPT"],
                  ["-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", *tag,
                   "-j", "ACCEPT"],
                  ["-o", bridge, "-m", "conntrack", "--ctstate", "DNAT", *tag, "-j", "ACCEPT"]]
    return rules


def forward_policy_drops() -> bool:
    """True when iptables' FORWARD chain drops by default (Docker installed, or a locked-down host)."""
    if shutil.which("iptables") is None:
        return False
    out = _run(["iptables", "-w", "-S", "FORWARD"], check=False)
    return any(line.strip() in ("-P FORWARD DROP", "-P FORWARD REJECT") for line in out.splitlines())


def install(bridge: str, subnet: IPv4Network, internal: bool) -> None:
    """Put the network's rules in place (idempotent); enables IPv4 forwarding for outbound access."""
    _run(["nft", "-f", "-"], stdin=nft_script(bridge, subnet, internal))
    if forward_policy_drops():
        _remove_iptables(bridge)
        for rule in reversed(_iptables_rules(bridge, internal)):
            _run(["iptables", "-w", "-I", "FORWARD", "1", *rule])
    if not internal:
        fwd = Path("/proc/sys/net/ipv4/ip_forward")
        if fwd.read_text().strip() != "1":
            fwd.write_text("1\n")


def remove(bridge: str) -> None:
    """Remove everything :func:`install` made for ``bridge`` (missing pieces are fine)."""
    table = nft_table(bridge)
    _run(["nft", "-f", "-"], stdin=f"table ip {table} {{}}\ndelete table ip {table}\n", check=False)
    _remove_iptables(bridge)


def _remove_iptables(bridge: str) -> None:
    if shutil.which("iptables") is None:
        return
    comment = _COMMENT.format(bridge=bridge)
    for line in _run(["iptables", "-w", "-S", "FORWARD"], check=False).splitlines():
        if line.startswith("-A FORWARD ") and comment in line:
            spec = line.split()[2:]
            _run(["iptables", "-w", "-D", "FORWARD", *[s.strip('"') for s in spec]], check=False)


def ports_script(table: str, ports: Sequence[BoundPort], target: str) -> str:
    """DNAT for published ports reached from other hosts, so containers see the real client address.

    Loopback and our own bridges are left to the proxy: 127.0.0.1 would need ``route_localnet``,
    and traffic from a container of another network must not be forwarded across the isolation.
    """
    rules = []
    for p in ports:
        if ":" in p.host_ip or p.host_ip.startswith("127."):
            continue
        match = f"ip daddr {p.host_ip}" if p.host_ip not in ("", "0.0.0.0") else "fib daddr type local"
        rules.append(f'        iifname != "lo" iifname != "{BRIDGE_PREFIX}*" {match} '
                     f"{p.protocol} dport {p.host_port} dnat to {target}:{p.container_port}\n")
    return (f"table ip {table} {{}}\ndelete table ip {table}\n"
            f"table ip {table} {{\n    chain prerouting {{\n"
            f"        type nat hook prerouting priority dstnat; policy accept;\n{''.join(rules)}    }}\n}}\n")


def install_ports(table: str, ports: Sequence[BoundPort], target: str) -> None:
    """(Re)load a sandbox's DNAT table."""
    _run(["nft", "-f", "-"], stdin=ports_script(table, ports, target))


def remove_ports(table: str) -> None:
    """Delete a sandbox's DNAT table (missing is fine)."""
    _run(["nft", "-f", "-"], stdin=f"table ip {table} {{}}\ndelete table ip {table}\n", check=False)
