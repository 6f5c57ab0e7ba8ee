"""sha256 digests and canonical JSON, the basis of every content address and config hash."""

from __future__ import annotations

import json

try:  # the builtin module: hashlib loads OpenSSL (~3 ms per process), needless for these small inputs
    from _sha256 import sha256
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import sha256
from typing import Any

__all__ = ["canonical_json", "digest_bytes", "digest_json", "is_digest", "short_id"]


def canonical_json(value: Any) -> bytes:
    """JSON with sorted keys and no whitespace: equal values give equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def digest_bytes(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + sha256(data).hexdigest()


def digest_json(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return digest_bytes(canonical_json(value))


def is_digest(text: str) -> bool:
    """True for a well-formed ``sha256:<64 hex>`` string."""
    if not text.startswith("sha256:") or len(text) != 71:
        return False
    return all(c in "0123456789abcdef" for c in text[7:])


def short_id(digest: str, length: int = 12) -> str:
    """The first ``length`` hex characters of a digest (Docker's short id)."""
    return digest.split(":", 1)[-1][:length]
