"""A small generic DAG: nodes, edges, cycle detection that names the cycle, topological levels."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

from stackfile.errors import InvalidSpec

__all__ = ["CycleError", "Graph"]

N = TypeVar("N", bound=Hashable)


class CycleError(InvalidSpec):
    """The graph has a cycle; ``cycle`` lists it starting from its smallest node."""

    def __init__(self, cycle: list[str], *, what: str = "dependency") -> None:
        self.cycle = cycle
        super().__init__(
            f"{what} cycle: " + " -> ".join(cycle),
            hint="remove one of the edges so that the dependencies form a tree",
        )


class Graph(Generic[N]):
    """Directed graph where an edge ``a -> b`` means "a depends on b" (b comes first)."""

    def __init__(self) -> None:
        self._deps: dict[N, set[N]] = {}

    def add_node(self, node: N) -> None:
        self._deps.setdefault(node, set())

    def add_edge(self, node: N, depends_on: N) -> None:
        self.add_node(node)
        self.add_node(depends_on)
        self._deps[node].add(depends_on)

    @property
    def nodes(self) -> list[N]:
        return sorted(self._deps, key=str)

    def dependencies(self, node: N) -> list[N]:
        return sorted(self._deps.get(node, ()), key=str)

    def dependents(self, node: N) -> list[N]:
        return sorted((n for n, deps in self._deps.items() if node in deps), key=str)

    def edges(self) -> list[tuple[N, N]]:
        return [(n, d) for n in self.nodes for d in self.dependencies(n)]

    def find_cycle(self) -> list[N] | None:
        """Return one cycle (first node repeated at the end), deterministically, or None."""
        white, grey, black = 0, 1, 2
        color = dict.fromkeys(self._deps, white)
        stack: list[N] = []

        def visit(node: N) -> list[N] | None:
            color[node] = grey
            stack.append(node)
            for dep in self.dependencies(node):
                if color[dep] == grey:
                    cyc = stack[stack.index(dep):]
                    start = min(range(len(cyc)), key=lambda i: str(cyc[i]))
                    cyc = cyc[start:] + cyc[:start]
                    return [*cyc, cyc[0]]
                if color[dep] == white:
                    found = visit(dep)
                    if found:
                        return found
            stack.pop()
            color[node] = black
            return None

        for node in self.nodes:
            if color[node] == white:
                found = visit(node)
                if found:
                    return found
        return None

    def check_acyclic(self, what: str = "dependency") -> None:
        cycle = self.find_cycle()
        if cycle is not None:
            raise CycleError([str(n) for n in cycle], what=what)

    def levels(self) -> list[list[N]]:
        """Topological levels: every node's dependencies are in earlier levels."""
        self.check_acyclic()
        remaining = {n: set(d) for n, d in self._deps.items()}
        out: list[list[N]] = []
        while remaining:
            ready = sorted((n for n, d in remaining.items() if not d), key=str)
            out.append(ready)
            for n in ready:
                del remaining[n]
            for deps in remaining.values():
                deps.difference_update(ready)
        return out

    def order(self) -> list[N]:
        """A deterministic topological order (dependencies first)."""
        return [n for level in self.levels() for n in level]

    def subgraph(self, roots: Iterable[N], *, with_dependencies: bool = True) -> Graph[N]:
        """The graph restricted to ``roots`` and (by default) everything they depend on."""
        keep: set[N] = set()
        todo = list(roots)
        while todo:
            n = todo.pop()
            if n in keep:
                continue
            keep.add(n)
            if with_dependencies:
                todo.extend(self._deps.get(n, ()))
        sub: Graph[N] = Graph()
        for n in keep:
            sub.add_node(n)
            for d in self._deps.get(n, ()):
                if d in keep:
                    sub.add_edge(n, d)
        return sub
