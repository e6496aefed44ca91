"""Every GraphQL document floe-agents (and its lab) sends to Dagster is valid against dagster-graphql's schema.

Why: a field or union member misspelt (or renamed by a Dagster upgrade) is a GraphQL validation error that only a
live webserver would show, in the one branch that sends it; validating against the server's own schema catches it
for every document at once, without starting Dagster.
"""

from __future__ import annotations

import pytest
from dagster_graphql.schema import create_schema
from graphql import GraphQLSchema, parse, validate

from floe_agents.probes import dagster, dagster_runs
from floe_agents.remediations import _dagster, dagster_launch, dagster_rerun
from floe_lab import dagster_runs as dagster_runs_lab

DOCUMENTS = {
    "probe version": dagster.VERSION_Q,
    "probe workspace": dagster.WORKSPACE_Q,
    "probe daemons": dagster.DAEMONS_Q,
    "probe runs": dagster_runs.RUNS_Q % 5,
    "probe events": "query Q($r0: ID!, $r1: ID!) { r0: logsForRun(runId: $r0, limit: 5) { ...L } "
    "r1: logsForRun(runId: $r1, limit: 5) { ...L } }\n" + dagster_runs.EVENTS_Q,  # as _logs builds it for two runs
    "latest run": _dagster._LATEST,
    "run status": _dagster._STATUS,
    "reload location": _dagster._RELOAD,
    "jobs": dagster_launch.JOBS,
    "launch": dagster_launch.LAUNCH,
    "re-execute": dagster_rerun.RERUN,
    "lab: launch the demo run": dagster_runs_lab.LAUNCH,
    "lab: reload the location": dagster_runs_lab.RELOAD,
    "lab: run status": dagster_runs_lab.RUN_STATUS,
}


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    built: GraphQLSchema = create_schema().graphql_schema
    return built


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_document_is_valid_for_the_installed_dagster(schema: GraphQLSchema, name: str) -> None:
    errors = validate(schema, parse(DOCUMENTS[name]))
    assert errors == [], [e.message for e in errors]
