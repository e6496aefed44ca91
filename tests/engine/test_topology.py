"""The Floe dependency graph and its queries."""

from __future__ import annotations

import pytest

from floe_agents.topology import FLOE_COMPONENTS, PIPELINE_COMPONENTS, ComponentSpec, Topology, floe_topology


def test_floe_graph_matches_the_platform() -> None:
    t = floe_topology()
    assert set(t.depends_on("dagster-webserver")) == {"postgres", "dagster-user-code"}
    assert {"polaris", "iceberg", "cube", "dagster-user-code", "dagster-webserver", "dagster-daemon"} <= t.downstream(
        "s3"
    )
    assert "s3" not in t.downstream("postgres") and "marquez" in t.downstream("postgres")
    assert t.path("cube", "s3") == ("cube", "s3")
    assert t.path("dagster-webserver", "s3") == ("dagster-webserver", "dagster-user-code", "s3")
    assert t.path("s3", "cube") == ()
    assert t.depth["s3"] > t.depth["polaris"] > t.depth["cube"] == 0


def test_undeclared_dependency_is_rejected() -> None:
    with pytest.raises(ValueError, match="undeclared components: ghost"):
        Topology.of([ComponentSpec("a", ("ghost",))])


def test_the_builtin_graph_is_data_beside_the_module() -> None:
    assert FLOE_COMPONENTS[0] == ComponentSpec("kubernetes", (), "Kubernetes API server of the cluster running Floe")
    assert [c.name for c in FLOE_COMPONENTS][-1] == "cube"  # file order is kept: reports list components in it
    assert PIPELINE_COMPONENTS == ("dagster-daemon", "dagster-user-code")
    assert set(PIPELINE_COMPONENTS) <= set(floe_topology().names)


def test_the_charts_init_jobs_are_topology_data() -> None:
    """Which setup Jobs a deployed chart should have run is data beside the graph, not a list in a probe."""
    from floe_agents.topology import InitJob  # noqa: PLC0415

    jobs = {c.name: c.init_jobs for c in FLOE_COMPONENTS if c.init_jobs}
    assert jobs == {
        "postgres": (InitJob("migrate", "dagster-webserver"),),
        "s3": (InitJob("localstack-init", "s3"),),
        "polaris": (InitJob("polaris-init", "polaris"),),
        "iceberg": (InitJob("seed-data", "polaris"),),
    }
