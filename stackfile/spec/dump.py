"""YAML output for ``config``: safe, block style, insertion order, multi-line strings as ``|``."""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["dump_yaml"]

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _BlockDumper(_Dumper):
    pass


def _str(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def dump_yaml(data: Any) -> str:
    return yaml.dump(
        data, Dumper=_BlockDumper, default_flow_style=False, sort_keys=False, allow_unicode=True, width=4096
    )
