"""Compose quantities as Kubernetes writes them: exact byte sizes, millicores, whole seconds, names."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from stackfile.spec.units import parse_duration, parse_size

__all__ = ["dns_label", "k8s_cpu", "k8s_memory", "k8s_seconds"]

_BINARY = (
    ("Ei", 1 << 60),
    ("Pi", 1 << 50),
    ("Ti", 1 << 40),
    ("Gi", 1 << 30),
    ("Mi", 1 << 20),
    ("Ki", 1 << 10),
)


def k8s_memory(value: Any) -> str:
    """A Compose size (``64M``, ``67108864``, ``1.5g``; Docker's units are binary) as an exact
    Kubernetes quantity: the largest binary suffix that divides it (``64Mi``), else plain bytes."""
    size = parse_size(value)
    for suffix, unit in _BINARY:
        if size and size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def k8s_cpu(value: Any) -> str:
    """Compose ``cpus`` (``"0.5"``, ``2``, ``1.25``) as a Kubernetes CPU quantity: whole cores as a
    number, fractions in millicores (``500m``). ``ValueError`` below one millicore or when not a number."""
    try:
        cores = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"invalid cpus {value!r}") from None
    if not cores.is_finite() or cores <= 0:
        raise ValueError(f"invalid cpus {value!r}: must be a positive number")
    if cores == cores.to_integral_value():
        return str(int(cores))
    milli = cores * 1000
    if milli != milli.to_integral_value():
        raise ValueError(f"cpus {value!r} is finer than Kubernetes' one millicore (0.001)")
    return f"{int(milli)}m"


def k8s_seconds(value: Any, minimum: int = 1) -> int:
    """A Compose duration (``1m30s``, ``500ms``) in whole seconds, rounded up, at least ``minimum``."""
    return max(minimum, math.ceil(parse_duration(value) / 10**9))


_NOT_DNS: Any = re.compile(r"[^a-z0-9-]+")


def dns_label(name: str) -> str:
    """``name`` as an RFC 1123 label, as Kubernetes object names need: lower case, ``-`` for
    anything else, no leading or trailing ``-``, at most 63 characters."""
    label = _NOT_DNS.sub("-", name.lower()).strip("-")[:63].rstrip("-")
    return label or "x"
