"""Service ports: short syntax ``[IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/PROTO]`` → long form."""

from __future__ import annotations

from typing import Any

__all__ = ["parse_port", "port_long"]


def _range(text: str, what: str) -> tuple[int, int]:
    start, sep, end = text.partition("-")
    try:
        lo, hi = int(start), int(end) if sep else int(start)
    except ValueError:
        raise ValueError(f"invalid {what} port {text!r}") from None
    if not (0 <= lo <= 65535 and 0 <= hi <= 65535) or hi < lo:
        raise ValueError(f"invalid {what} port range {text!r} (ports are 0-65535, low-high)")
    return lo, hi


def _split_ip(spec: str) -> tuple[str, str]:
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            raise ValueError(f"invalid IPv6 address in {spec!r}")
        return spec[1:end], spec[end + 2 :] if spec[end + 1 : end + 2] == ":" else spec[end + 1 :]
    parts = spec.split(":")
    if len(parts) <= 2:
        return "", spec
    if len(parts) == 3:
        return parts[0], f"{parts[1]}:{parts[2]}"
    # bare IPv6 address: everything before the last two parts
    return ":".join(parts[:-2]), f"{parts[-2]}:{parts[-1]}"


def parse_port(spec: str) -> list[dict[str, Any]]:
    """Expand one short port spec into long-form entries; ``ValueError`` when malformed."""
    spec = str(spec)
    body, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise ValueError(f"invalid protocol {proto!r} in {spec!r} (use tcp, udp or sctp)")
    ip, rest = _split_ip(body)
    host, sep, container = rest.rpartition(":")
    if not sep:
        host, container = "", rest
    c_lo, c_hi = _range(container, "container")
    if c_lo == 0:
        raise ValueError(f"port {spec!r} is missing a target (container) port")
    entry = {"mode": "ingress", **({"host_ip": ip} if ip else {})}
    if not host:
        return [{**entry, "target": p, "protocol": proto} for p in range(c_lo, c_hi + 1)]
    h_lo, h_hi = _range(host, "host")
    if c_lo == c_hi:
        published = str(h_lo) if h_lo == h_hi else f"{h_lo}-{h_hi}"
        return [{**entry, "target": c_lo, "published": published, "protocol": proto}]
    if h_hi - h_lo != c_hi - c_lo:
        raise ValueError(f"invalid port range {spec!r}: host and container ranges differ in length")
    return [
        {**entry, "target": c, "published": str(h_lo + i), "protocol": proto}
        for i, c in enumerate(range(c_lo, c_hi + 1))
    ]


def port_long(item: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults of a long-syntax port (mode, protocol; published as a string)."""
    out = {"mode": "ingress", **item}
    out.setdefault("protocol", "tcp")
    if out.get("published") is not None:
        out["published"] = str(out["published"])
    if isinstance(out.get("target"), str) and out["target"].isdigit():
        out["target"] = int(out["target"])
    return out
