"""What valid values look like, per service key: the ``hint`` of a canonicalisation error."""

from __future__ import annotations

__all__ = ["TRANSFORM_HINTS"]

_SIZE = "use a byte size such as 1024, 512m or 2g"
_DURATION = "use a duration such as 30s, 1m30s or 500ms"

TRANSFORM_HINTS: dict[str, str] = {
    "blkio_config": "rates are byte sizes such as 1mb",
    "build": "build: DIR or {context: DIR, dockerfile: FILE, args: {...}}",
    "command": "a list [prog, arg] or a shell-like string with balanced quotes",
    "deploy": "resources.limits.memory is a byte size such as 512m",
    "devices": "SOURCE[:TARGET[:PERMISSIONS]] or {source, target, permissions}",
    "entrypoint": "a list [prog, arg] or a shell-like string with balanced quotes",
    "healthcheck": _DURATION + " for interval, timeout, start_period and start_interval",
    "mem_limit": _SIZE,
    "mem_reservation": _SIZE,
    "memswap_limit": _SIZE + " (or -1)",
    "ports": "[HOST_IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/tcp|udp|sctp] with ports 1-65535, "
    "or {target, published, protocol}",
    "shm_size": _SIZE,
    "stop_grace_period": _DURATION,
    "volumes": "[SOURCE:]TARGET[:ro|rw|z|Z|nocopy|...] or {type: bind|volume|tmpfs, source, target}",
}
