"""The contents of a container's /etc/hosts and /etc/resolv.conf."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from stackfile.errors import InvalidSpec, Location

__all__ = ["host_nameservers", "hosts_file", "parse_extra_hosts", "resolv_conf"]


def parse_extra_hosts(extra: Mapping[str, str] | Iterable[str], who: str = "") -> list[tuple[str, str]]:
    """``extra_hosts`` as (name, address) pairs from a mapping or ``name:addr``/``name=addr`` items."""
    if isinstance(extra, Mapping):
        pairs = [(str(k), str(v)) for k, v in extra.items()]
    else:
        pairs = []
        for item in extra:
            sep = "=" if "=" in item else ":"
            name, found, addr = item.partition(sep)
            if not found or not name or not addr:
                raise InvalidSpec(f"invalid extra_hosts entry {item!r}",
                                  location=Location(key_path=f"services.{who}.extra_hosts" if who else None),
                                  hint="NAME=ADDRESS or NAME:ADDRESS")
            pairs.append((name, addr.strip("[]")))
    return sorted(pairs)


def hosts_file(hostname: str, addresses: Sequence[str], extra: Sequence[tuple[str, str]]) -> str:
    """localhost, the container's own name on its addresses, then ``extra_hosts``."""
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    if hostname:
        short = hostname.split(".")[0]
        names = hostname if short == hostname else f"{hostname} {short}"
        lines += [f"{addr}\t{names}" for addr in addresses] or [f"127.0.1.1\t{names}"]
    lines += [f"{addr}\t{name}" for name, addr in extra]
    return "\n".join(lines) + "\n"


def resolv_conf(nameserver: str | None, search: Sequence[str], options: Sequence[str],
                host_text: str) -> str:
    """Our DNS server on the gateway, or the host's resolvers when the container has no network."""
    if nameserver is None:
        return host_text
    text = f"nameserver {nameserver}\n"
    if search:
        text += f"search {' '.join(search)}\n"
    if options:
        text += f"options {' '.join(options)}\n"
    return text


def host_nameservers(path: Path = Path("/etc/resolv.conf")) -> list[str]:
    """The host's nameservers, where the DNS server forwards names it does not know."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    return [ln.split()[1] for ln in lines if ln.startswith("nameserver") and len(ln.split()) > 1]
