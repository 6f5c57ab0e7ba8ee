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

__all__ = ["forward_policy_drops", "install", "install_ports", "remove", "remove_ports", "require"]

_COMMENT = "stackfile:{bridge}"


def _start(argv: list[str], stdin: str | None = None) -> subprocess.Popen[str]:
    """Start a firewall tool without waiting (the nft and iptables halves run side by side)."""
    if shutil.which(argv[0]) is None:
        raise Unavailable(f"{argv[0]} is not installed", hint="apt-get install nftables iptables")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.stdin is not None:  # the scripts are a few hundred bytes: they fit the pipe buffer
        proc.stdin.write(stdin or "")
        proc.stdin.close()
        proc.stdin = None
    return proc


def _finish(proc: subprocess.Popen[str], check: bool = True) -> str:
    out, err = proc.communicate()
    if check and proc.returncode != 0:
        argv = [str(a) for a in proc.args]  # type: ignore[union-attr]
        raise Internal(f"{' '.join(argv[:3])} failed: {err.strip()}")
    return out


def _run(argv: list[str], stdin: str | None = None, check: bool = True) -> str:
    return _finish(_start(argv, stdin), check)


def nft_script(bridge: str, subnet: IPv4Network, internal: bool) -> str:
    """The nftables transaction that (re)creates the network's table: declare it and its chains,
    flush the chains, add the rules. Idempotent without ``delete table``, whose kernel commit
    waits for an RCU grace period (~15 ms here, on every network created)."""
    table = nft_table(bridge)
    rules = [] if internal else [f'postrouting ip saddr {subnet} oifname != "{bridge}" masquerade']
    rules.append(f'forward iifname "{bridge}" oifname != "{bridge}" oifname "{BRIDGE_PREFIX}*" drop')
    if internal:
        rules += [f'forward iifname "{bridge}" oifname != "{bridge}" drop',
                  f'forward oifname "{bridge}" iifname != "{bridge}" drop']
    return (
        f"table ip {table} {{\n"
        f"    chain postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}\n"
        f"    chain forward {{ type filter hook forward priority -1; policy accept; }}\n}}\n"
        f"flush chain ip {table} postrouting\nflush chain ip {table} forward\n"
        + "".join(f"add rule ip {table} {rule}\n" for rule in rules)
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
    return _forward_chain()[0]


def _forward_chain() -> tuple[bool, list[str]]:
    """(policy drops, rule lines) of iptables' FORWARD chain, from one ``iptables -S``."""
    if shutil.which("iptables") is None:
        return False, []
    lines = _run(["iptables", "-w", "-S", "FORWARD"], check=False).splitlines()
    drops = any(line.strip() in ("-P FORWARD DROP", "-P FORWARD REJECT") for line in lines)
    return drops, lines


def _restore_script(bridge: str, lines: Sequence[str], internal: bool | None) -> str:
    """One ``iptables-restore --noflush`` transaction: delete the bridge's old ACCEPT rules and,
    unless ``internal`` is None, insert the new ones at the top of FORWARD."""
    comment = _COMMENT.format(bridge=bridge)
    out = [f"-D {line[3:]}" for line in lines if line.startswith("-A FORWARD ") and comment in line]
    if internal is not None:
        rules = reversed(_iptables_rules(bridge, internal))
        out += [" ".join(["-I", "FORWARD", "1", *rule]) for rule in rules]  # no token has a space
    return "*filter\n" + "".join(f"{line}\n" for line in out) + "COMMIT\n" if out else ""


def install(bridge: str, subnet: IPv4Network, internal: bool) -> None:
    """Put the network's rules in place (idempotent); enables IPv4 forwarding for outbound access."""
    nft = _start(["nft", "-f", "-"], nft_script(bridge, subnet, internal))
    try:
        drops, lines = _forward_chain()
        if drops:
            _run(["iptables-restore", "-w", "--noflush"], _restore_script(bridge, lines, internal))
    finally:
        _finish(nft)
    if not internal:
        fwd = Path("/proc/sys/net/ipv4/ip_forward")
        if fwd.read_text().strip() != "1":
            fwd.write_text("1\n")


def require() -> None:
    """Raise ``Unavailable`` when nft is missing, before anything of a network is made."""
    if shutil.which("nft") is None:
        raise Unavailable("nft is not installed", hint="apt-get install nftables iptables")


def remove(bridge: str) -> None:
    """Remove everything :func:`install` made for ``bridge`` (missing pieces are fine, and so is
    a missing nft: without it there is no table to remove, or none we could remove)."""
    if shutil.which("nft") is None:
        _remove_iptables(bridge)
        return
    table = nft_table(bridge)
    nft = _start(["nft", "-f", "-"], f"table ip {table} {{}}\ndelete table ip {table}\n")
    try:
        _remove_iptables(bridge)
    finally:
        _finish(nft, check=False)


def _remove_iptables(bridge: str) -> None:
    script = _restore_script(bridge, _forward_chain()[1], None)
    if script:
        _run(["iptables-restore", "-w", "--noflush"], script, check=False)


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
    """Delete a sandbox's DNAT table (missing is fine, and so is a missing nft)."""
    if shutil.which("nft") is None:
        return
    _run(["nft", "-f", "-"], stdin=f"table ip {table} {{}}\ndelete table ip {table}\n", check=False)
