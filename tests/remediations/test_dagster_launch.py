"""A launch refused while the webserver has not yet read a restarted code location is retried after the UI's
"Reload", and succeeds; any other refusal, and a location that never comes back, fail the step with Dagster's words.

The webserver is scripted at the HTTP transport seam with Dagster 1.13's answers: the race (a code server just
restarted by the step before) cannot be produced on demand by a real webserver.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from floe_agents.config.targets import Targets
from floe_agents.declarations import Declarations
from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.redact import Redactor
from floe_agents.remediations import dagster_launch, dagster_rerun
from floe_agents.remediations._dagster import launch

pytestmark = pytest.mark.anyio

JOBS = {"repositoriesOrError": {"__typename": "RepositoryConnection", "nodes": [
    {"name": "__repository__", "location": {"name": "floe-demo"}, "jobs": [{"name": "demo"}, {"name": "__ASSET_JOB"}]}
]}}  # fmt: skip
NOT_FOUND = {"__typename": "PipelineNotFoundError", "message": "Could not find Pipeline floe-demo.__repository__.demo"}
LAUNCHED = {"__typename": "LaunchRunSuccess", "run": {"runId": "r2"}}


class Dagster:
    """Answers each GraphQL operation from a script: launch answers in turn, reloads and queries recorded."""

    def __init__(self, launches: list[dict[str, Any]], runs: tuple[dict[str, Any], ...] = ()) -> None:
        self.launches, self.runs = launches, list(runs)
        self.reloads: list[str] = []
        self.launched = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        query, variables = body["query"], body["variables"]
        if "reloadRepositoryLocation" in query:
            self.reloads.append(variables["location"])
            data: dict[str, Any] = {"reloadRepositoryLocation": {"__typename": "WorkspaceLocationEntry"}}
        elif "repositoriesOrError" in query:
            data = JOBS
        elif "runsOrError" in query:
            data = {"runsOrError": {"__typename": "Runs", "results": self.runs}}
        elif "runOrError" in query:
            data = {"runOrError": {"__typename": "Run", "status": "SUCCESS"}}
        else:
            field = "launchRunReexecution" if "launchRunReexecution" in query else "launchRun"
            data = {field: self.launches[min(self.launched, len(self.launches) - 1)]}
            self.launched += 1
        return httpx.Response(200, json={"data": data})


def _ctx(dagster: Dagster) -> HealContext:
    endpoint = {"urls": {"local": "http://dagster:80"}}
    targets = Targets.model_validate(
        {
            "vantage": "local",
            "vantages": {"local": {"resolver": "system"}},
            "components": {"dagster-webserver": {"endpoints": {"http": endpoint}}},
        }
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(dagster))
    return HealContext(targets=targets, redactor=Redactor(), http=http, declarations=Declarations())


async def test_a_launch_refused_until_the_location_is_read_again_reloads_it_and_succeeds() -> None:
    dagster = Dagster([NOT_FOUND, NOT_FOUND, LAUNCHED])
    ctx = _ctx(dagster)
    steps = await dagster_launch.spec.plan(ctx, dagster_launch.LaunchParams())
    assert [s.action.target for s in steps] == [
        "POST dagster-webserver /graphql launchRun(floe-demo/__repository__/demo)"
    ]
    change = await steps[0].run()
    assert change.after == {"run_id": "r2", "status": "SUCCESS"}
    assert dagster.launched == 3
    assert dagster.reloads == ["floe-demo", "floe-demo"]  # one reload after each refusal, of the job's location


async def test_any_other_refusal_is_final_at_once() -> None:
    invalid = {"__typename": "RunConfigValidationInvalid", "errors": [{"message": "missing config"}]}
    dagster = Dagster([invalid, LAUNCHED])
    with pytest.raises(RemediationError, match="RunConfigValidationInvalid: missing config"):
        await launch(_ctx(dagster), "mutation { launchRun }", "launchRun", {}, what="launch",
                     location="floe-demo")  # fmt: skip
    assert (dagster.launched, dagster.reloads) == (1, [])


async def test_a_location_that_never_comes_back_fails_with_dagsters_words_after_the_patience() -> None:
    dagster = Dagster([NOT_FOUND])
    with pytest.raises(RemediationError, match="PipelineNotFoundError: Could not find Pipeline floe-demo"):
        await launch(_ctx(dagster), "mutation { launchRun }", "launchRun", {}, what="launch",
                     location=None, patience_s=0.5)  # fmt: skip
    assert dagster.launched >= 1 and dagster.reloads == []  # no location known: waits for the webserver's own watch


async def test_a_re_execution_reloads_the_location_its_failed_run_came_from() -> None:
    failed = {"runId": "r1", "status": "FAILURE", "repositoryOrigin": {"repositoryLocationName": "elsewhere"}}
    dagster = Dagster([{**NOT_FOUND, "message": "gone"}, LAUNCHED], runs=(failed,))
    steps = await dagster_rerun.spec.plan(_ctx(dagster), dagster_rerun.RerunParams(job="demo", run_id="r1"))
    change = await steps[0].run()
    assert change.after == {"run_id": "r2", "status": "SUCCESS"}
    assert dagster.reloads == ["elsewhere"]


@pytest.mark.parametrize("answer", [None, "launched", {"run": {"runId": "r2"}}])
async def test_an_answer_that_is_no_launch_result_fails_the_step_with_what_came(answer: Any) -> None:
    dagster = Dagster([answer])
    with pytest.raises(RemediationError, match="answered the launch with something unknown"):
        await launch(_ctx(dagster), "mutation { launchRun }", "launchRun", {}, what="launch", location="floe-demo")
