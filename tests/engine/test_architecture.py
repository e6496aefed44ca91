"""No import cycles among the modules of ``floe_agents`` and ``floe_lab``.

Why: a cycle means two modules can only be understood (and changed, and tested) together, and it is how the CLI
once reached back into the lab and the kubelet's halves into each other. The import-linter contracts in
pyproject.toml forbid named directions; this test forbids every cycle, so a new one fails with the cycle printed.
"""

from __future__ import annotations

import grimp

PACKAGES = ("floe_agents", "floe_lab")


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the import graph is deep enough to hit the recursion limit otherwise)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            child = next(edges, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def import_graph() -> dict[str, set[str]]:
    built = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    return {m: set(built.find_modules_directly_imported_by(m)) & built.modules for m in built.modules}


def describe(graph: dict[str, set[str]], members: list[str]) -> str:
    """The shortest cycle through the first of ``members``, as ``a -> b -> ... -> a`` (breadth first)."""
    inside, start = set(members), members[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & inside):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return " -> ".join([*reversed(path), start])
                if nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    return ", ".join(members)


def test_the_tarjan_helper_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [c for c in strongly_connected(graph) if len(c) > 1] == [["a", "b", "c"]]
    assert describe(graph, ["a", "b", "c"]) == "a -> b -> c -> a"


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 100, "the graph should hold every module of both packages"
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    assert not cycles, "import cycles:\n" + "\n".join(describe(graph, c) for c in cycles)
