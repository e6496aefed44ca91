"""The component dependency graph of a Floe platform.

Root-cause analysis is graph work: a failure low in the graph (Postgres, S3, the catalog) explains failures of
everything above it, so the report must name the low one and fold the others under it. The graph here is the
built-in Floe topology (from the upstream charts); a targets file may add components and edges for a
non-standard deployment. Edges point from a component to what it *needs*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

__all__ = ["FLOE_COMPONENTS", "PIPELINE_COMPONENTS", "ComponentSpec", "Topology", "floe_topology"]


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    """A platform component: its name (the finding ``component``), what it needs, and a one-line role."""

    name: str
    depends_on: tuple[str, ...] = ()
    role: str = ""


FLOE_COMPONENTS: tuple[ComponentSpec, ...] = (
    ComponentSpec("kubernetes", (), "Kubernetes API server of the cluster running Floe"),
    ComponentSpec("postgres", (), "PostgreSQL: Dagster run/event/schedule storage, Marquez and catalog metadata"),
    ComponentSpec("s3", (), "S3-compatible object store (LocalStack/MinIO/AWS) holding Iceberg data and logs"),
    ComponentSpec("polaris", ("s3", "postgres"), "Apache Polaris Iceberg REST catalog (OAuth2, warehouses)"),
    ComponentSpec("iceberg", ("polaris", "s3"), "Iceberg tables: raw sources and medallion layers"),
    ComponentSpec("jaeger", (), "Jaeger: OTLP collector and trace query"),
    ComponentSpec("marquez", ("postgres",), "Marquez: OpenLineage receiver and lineage API"),
    ComponentSpec(
        "dagster-user-code",
        ("iceberg", "polaris", "s3", "jaeger", "marquez"),
        "Dagster user code location floe-demo (gRPC :3030): assets, dbt, emitters",
    ),
    ComponentSpec("dagster-webserver", ("postgres", "dagster-user-code"), "Dagster webserver and GraphQL API"),
    ComponentSpec("dagster-daemon", ("postgres", "dagster-user-code"), "Dagster daemon: schedules, sensors, runs"),
    ComponentSpec("cube", ("iceberg", "s3"), "Cube semantic layer over the gold tables"),
)

# The components whose runs emit the platform's traces and lineage: the daemon launches runs, the user code
# executes them. When Jaeger or Marquez has nothing, these are who stayed silent.
PIPELINE_COMPONENTS: tuple[str, ...] = ("dagster-daemon", "dagster-user-code")


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
