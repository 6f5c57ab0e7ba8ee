"""Import PyYAML without paying for regular expressions that the libyaml path never uses.

``import yaml`` compiles ~20 regular expressions at import time; the largest (the pure-Python
reader's non-printable check) alone costs ~6 ms, a tenth of ``stackfile config``'s budget.
With libyaml, parsing never touches them, so while PyYAML is first imported ``re.compile``
returns patterns that compile on first use. They behave like compiled patterns (attribute
access compiles and delegates), so the pure-Python fallback and ``yaml.safe_load`` elsewhere
keep working. The swap happens only while no other thread runs (the CLI's case).
"""

from __future__ import annotations

import re
import sys
from typing import Any

from stackfile.spec._lazyre import LazyPattern, compile_now

__all__ = ["yaml"]


def _import_yaml() -> Any:
    threading = sys.modules.get("threading")  # not imported: no other Python threads exist
    if "yaml" in sys.modules or (threading is not None and threading.active_count() > 1):
        import yaml as loaded

        return loaded
    re.compile = LazyPattern  # type: ignore[assignment]
    try:
        import yaml as module
    finally:
        re.compile = compile_now
    return module


yaml = _import_yaml()
