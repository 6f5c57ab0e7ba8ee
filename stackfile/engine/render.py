"""Text renderings of a project for the ``config`` and ``graph`` commands (no terminal styling)."""

from __future__ import annotations

from typing import Any

from stackfile.graph import Graph

__all__ = ["escape_dollars", "graph_text", "to_yaml"]


def escape_dollars(data: Any) -> Any:
    """``$`` → ``$$`` in every string value, so printed config can be loaded again unchanged."""
    if isinstance(data, str):
        return data.replace("$", "$$")
    if isinstance(data, dict):
        return {k: escape_dollars(v) for k, v in data.items()}
    if isinstance(data, list):
        return [escape_dollars(v) for v in data]
    return data


def config_text(config: dict[str, Any], fmt: str, *, interpolated: bool = True) -> str:
    """What ``config`` prints: the canonical model as YAML or JSON (``$`` escaped back to ``$$``
    when the values were interpolated, as Compose prints them)."""
    data = escape_dollars(config) if interpolated else config
    if fmt == "json":
        import json

        return json.dumps(data, indent=2, ensure_ascii=False)
    return to_yaml(data)


def to_yaml(data: Any) -> str:
    """Block-style YAML with keys in their canonical order."""
    from stackfile.spec.dump import dump_yaml

    return dump_yaml(data)


def _ident(node: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in node)


def graph_text(graph: Graph[str], fmt: str) -> str:
    """``text`` (levels), ``dot`` (Graphviz) or ``mermaid`` (flowchart)."""
    if fmt == "dot":
        lines = ["digraph stack {", "  rankdir=LR;"]
        lines += [f'  "{n}";' for n in graph.nodes]
        lines += [f'  "{n}" -> "{d}";' for n, d in graph.edges()]
        return "\n".join([*lines, "}"]) + "\n"
    if fmt == "mermaid":
        lines = ["flowchart LR"]
        lines += [f'  {_ident(n)}["{n}"]' for n in graph.nodes]
        lines += [f"  {_ident(n)} --> {_ident(d)}" for n, d in graph.edges()]
        return "\n".join(lines) + "\n"
    out = []
    for i, level in enumerate(graph.levels()):
        out.append(f"level {i}:")
        for node in level:
            deps = graph.dependencies(node)
            out.append(f"  {node}" + (f"  <- {', '.join(deps)}" if deps else ""))
    return "\n".join(out) + "\n"
