"""ContainerSpec ⇄ plain JSON-able dicts (``containers/<id>/config.json`` holds one)."""

from __future__ import annotations

from stackfile.runtime.api import (
    ContainerSpec,
    Mount,
    NetworkAttachment,
    Process,
    Resources,
    RestartPolicy,
    to_plain,
)

TYPE_CHECKING = False  # not typing's: typing costs ~3 ms to import (see stackfile/record.py)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["spec_from_dict", "spec_to_dict"]


def spec_to_dict(spec: ContainerSpec) -> dict[str, Any]:
    """A JSON-able dict of ``spec`` (tuples become lists, mappings dicts)."""
    plain: dict[str, Any] = to_plain(spec)
    return plain


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value or ())


def spec_from_dict(data: dict[str, Any]) -> ContainerSpec:
    """The inverse of :func:`spec_to_dict`."""
    d = dict(data)
    p = dict(d.pop("process"))
    p["argv"] = _tuple(p["argv"])
    p["additional_groups"] = _tuple(p.get("additional_groups"))
    d["process"] = Process(**p)
    d["layers"] = _tuple(d["layers"])
    d["mounts"] = tuple(Mount(**{**m, "options": _tuple(m.get("options"))}) for m in d.get("mounts", ()))
    d["resources"] = Resources(**d.get("resources", {}))
    d["network"] = NetworkAttachment(**d.get("network", {}))
    d["restart"] = RestartPolicy(**d.get("restart", {}))
    d["cap_add"] = _tuple(d.get("cap_add"))
    d["cap_drop"] = _tuple(d.get("cap_drop"))
    d["ulimits"] = {k: (int(v[0]), int(v[1])) for k, v in (d.get("ulimits") or {}).items()}
    d["on_exit"] = _tuple(d.get("on_exit"))
    return ContainerSpec(**d)
