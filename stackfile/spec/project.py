"""The loaded project: its canonical dict plus helpers (typed model, dependency graph)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from stackfile.graph import Graph

if TYPE_CHECKING:
    from stackfile.spec.model import Stack

__all__ = ["Project", "dependency_graph"]


def _node(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def dependency_graph(config: dict[str, Any]) -> Graph[str]:
    """DAG of ``image:``, ``service:``, ``network:`` and ``volume:`` nodes (edge = depends on)."""
    graph: Graph[str] = Graph()
    images = config.get("images") or {}
    if images:
        from stackfile.spec.recipes import image_dependencies

        for name, deps in image_dependencies(images).items():
            graph.add_node(_node("image", name))
            for dep in deps:
                graph.add_edge(_node("image", name), _node("image", dep))
    for kind in ("networks", "volumes"):
        for name in config.get(kind) or {}:
            graph.add_node(_node(kind[:-1], name))
    for name, svc in (config.get("services") or {}).items():
        node = _node("service", name)
        graph.add_node(node)
        if svc.get("image") in images:
            graph.add_edge(node, _node("image", svc["image"]))
        for dep in svc.get("depends_on") or {}:
            graph.add_edge(node, _node("service", dep))
        for net in svc.get("networks") or {}:
            graph.add_edge(node, _node("network", net))
        for mount in svc.get("volumes") or []:
            if isinstance(mount, dict) and mount.get("type") == "volume" and mount.get("source"):
                graph.add_edge(node, _node("volume", mount["source"]))
    return graph


@dataclass
class Project:
    """A loaded stack: ``config`` is exactly what ``stackfile config --format json`` prints."""

    name: str
    working_dir: str
    files: list[str]
    environment: dict[str, str]
    config: dict[str, Any]
    profiles: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    disabled_services: list[str] = field(default_factory=list)  # defined, left out by profiles

    @cached_property
    def model(self) -> Stack:
        """The typed model (``spec.model``), built on first use."""
        from stackfile.spec.model import build_stack

        return build_stack(self.config)

    def dependency_graph(self) -> Graph[str]:
        return dependency_graph(self.config)

    def services_in_order(self) -> list[str]:
        """Service names, dependencies first (deterministic)."""
        graph: Graph[str] = Graph()
        for name, svc in (self.config.get("services") or {}).items():
            graph.add_node(name)
            for dep in svc.get("depends_on") or {}:
                graph.add_edge(name, dep)
        return graph.order()
