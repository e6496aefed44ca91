"""The component dependency graph of a Floe platform.

Root-cause analysis is graph work: a failure low in the graph (Postgres, S3, the catalog) explains failures of
everything above it, so the report must name the low one and fold the others under it. The graph here is the
built-in Floe topology, kept as data in ``topology.yaml`` beside this module (the engine knows graphs, not Floe);
a targets file may add components and edges for a non-standard deployment. Edges point from a component to what
it *needs*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources

import yaml
from pydantic import Field

from floe_agents._frozen import Frozen

__all__ = ["FLOE_COMPONENTS", "PIPELINE_COMPONENTS", "ComponentSpec", "InitJob", "Topology", "floe_topology"]


@dataclass(frozen=True, slots=True)
class InitJob:
    """A Job a chart runs once to set a component up (a Helm hook): the role its label or name carries, and the
    component whose running pods mean the chart was deployed (so the Job should exist)."""

    role: str
    deployed_with: str


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    """A platform component: its name (the finding ``component``), what it needs, a one-line role, and the URL path
    prefixes its HTTP APIs serve (empty: any path, or not HTTP)."""

    name: str
    depends_on: tuple[str, ...] = ()
    role: str = ""
    serves: tuple[str, ...] = ()
    init_jobs: tuple[InitJob, ...] = ()


class _InitJob(Frozen):
    role: str
    deployed_with: str


class _Component(Frozen):
    needs: tuple[str, ...] = ()
    role: str = ""
    serves: tuple[str, ...] = ()
    init_jobs: tuple[_InitJob, ...] = ()


class _TopologyFile(Frozen):
    components: dict[str, _Component]
    pipeline: tuple[str, ...] = Field(description="The components whose runs emit traces and lineage.")


def _builtin() -> _TopologyFile:
    text = resources.files(__package__).joinpath("topology.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: this file is read at every start
    return _TopologyFile.model_validate(yaml.load(text, Loader=loader))  # noqa: S506 - a safe loader


_BUILTIN = _builtin()
FLOE_COMPONENTS: tuple[ComponentSpec, ...] = tuple(
    ComponentSpec(name, c.needs, c.role, c.serves, tuple(InitJob(j.role, j.deployed_with) for j in c.init_jobs))
    for name, c in _BUILTIN.components.items()
)
# The components whose runs emit the platform's traces and lineage (see topology.yaml).
PIPELINE_COMPONENTS: tuple[str, ...] = _BUILTIN.pipeline


@dataclass(frozen=True)
class Topology:
    """An immutable dependency graph with the reachability queries root-cause rules need."""

    components: Mapping[str, ComponentSpec] = field(default_factory=dict)

    @classmethod
    def of(cls, specs: Iterable[ComponentSpec]) -> Topology:
        by_name: dict[str, ComponentSpec] = {}
        for spec in specs:
            by_name[spec.name] = spec
        unknown = sorted({d for s in by_name.values() for d in s.depends_on if d not in by_name})
        if unknown:
            msg = f"components depend on undeclared components: {', '.join(unknown)}"
            raise ValueError(msg)
        return cls(by_name)

    def __contains__(self, name: object) -> bool:
        return name in self.components

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.components)

    @cached_property
    def _dependents(self) -> Mapping[str, frozenset[str]]:
        out: dict[str, set[str]] = {n: set() for n in self.components}
        for spec in self.components.values():
            for dep in spec.depends_on:
                out[dep].add(spec.name)
        return {k: frozenset(v) for k, v in out.items()}

    def depends_on(self, name: str) -> tuple[str, ...]:
        spec = self.components.get(name)
        return spec.depends_on if spec else ()

    def dependents(self, name: str) -> frozenset[str]:
        """Components that directly need ``name``."""
        return self._dependents.get(name, frozenset())

    def downstream(self, name: str) -> frozenset[str]:
        """Every component that transitively needs ``name`` (not including itself)."""
        seen: set[str] = set()
        stack = [name]
        while stack:
            for dependent in self.dependents(stack.pop()):
                if dependent not in seen:
                    seen.add(dependent)
                    stack.append(dependent)
        return frozenset(seen)

    def path(self, start: str, goal: str) -> tuple[str, ...]:
        """Shortest dependency path ``start -> ... -> goal`` (``start`` needs ... needs ``goal``), or ()."""
        if start == goal:
            return (start,)
        frontier: list[tuple[str, ...]] = [(start,)]
        seen = {start}
        while frontier:
            nxt: list[tuple[str, ...]] = []
            for route in frontier:
                for dep in self.depends_on(route[-1]):
                    if dep == goal:
                        return (*route, dep)
                    if dep not in seen:
                        seen.add(dep)
                        nxt.append((*route, dep))
            frontier = nxt
        return ()

    @cached_property
    def depth(self) -> Mapping[str, int]:
        """How many components transitively depend on each one: a crude 'how fundamental' score."""
        return {n: len(self.downstream(n)) for n in self.components}

    def with_components(self, extra: Iterable[ComponentSpec]) -> Topology:
        return Topology.of([*self.components.values(), *extra])


def floe_topology() -> Topology:
    """The built-in Floe topology (upstream charts floe-infra, floe-dagster, floe-cube)."""
    return Topology.of(FLOE_COMPONENTS)
