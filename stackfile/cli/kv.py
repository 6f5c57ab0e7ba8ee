"""Flag values of the ``KEY=VALUE`` kind that fall back on the environment (click-free)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["with_environment"]


def with_environment(items: Iterable[str], environ: Mapping[str, str]) -> dict[str, str]:
    """``KEY=VALUE`` items as a dict; ``KEY`` alone takes the environment's value and is left out
    when the environment has none (Docker's rule for ``-e`` and ``--build-arg``)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if sep:
            out[key] = value
        elif key in environ:
            out[key] = environ[key]
    return out
