"""dagster_runs probe: the lab's real pipeline runs (succeeded; failed on missing tables or a missing warehouse),
the error classifier over real error chains (pyiceberg, urllib3, Polaris, dbt), run histories served by a fake
Dagster, and servers that cannot list runs."""

from __future__ import annotations

from typing import Any

import pytest

from floe_agents.findings import Code, Finding, Status
from floe_agents.probes import dagster_runs as runs_module
from floe_agents.probes.dagster import dagster
from floe_agents.probes.dagster_runs import CODES, classify, dagster_runs
from tests.support.dagster import fake_dagster
from tests.support.lab import LabHandle, findings_of, probe_findings
from tests.support.net import bad_server, closed_port
from tests.support.probes import CtxFactory, grouped_by_code, run_probe

RAW = ["demo.raw_customers", "demo.raw_order_items", "demo.raw_orders", "demo.raw_products"]


def by_code(findings: list[Finding]) -> dict[str, list[Finding]]:
    return grouped_by_code(findings, (*CODES, Code.PROBE_SKIPPED))


# --- the real lab ---------------------------------------------------------------------------------------------


@pytest.mark.lab
@pytest.mark.parametrize(
    "lab",
    ["healthy", "no-telemetry", "missing-raw-tables", "s3-endpoint-mismatch", "missing-warehouse", "seed"],
    indirect=True,
)
async def test_lab(lab: LabHandle) -> None:
    result = await probe_findings(lab, dagster, dagster_runs, only="dagster-webserver")
    found = by_code(findings_of(result, "dagster_runs"))
    scenario = lab.info["scenario"]
    if scenario in ("healthy", "no-telemetry"):  # telemetry is another probe's business: runs succeed
        [ok] = found.pop("dagster.run_succeeded")
        assert (ok.component, ok.subject, ok.evidence["run_id"]) == (
            "dagster-user-code",
            "demo_pipeline",
            lab.info["run_id"],
        )
    elif scenario == "seed":  # the webserver pod is down: the dagster probe says so, runs are not read
        [skipped] = found.pop(Code.PROBE_SKIPPED)
        assert skipped.evidence["blocked_by"] == "dagster.webserver_unreachable"
    else:
        [run] = found.pop("dagster.run_failed")
        assert (run.subject, run.evidence["run_id"], run.component) == (
            "demo_pipeline",
            lab.info["run_id"],
            "dagster-user-code",
        )
        assert sorted(run.evidence["failed_steps"]) == [f"bronze__{t.split('.')[1]}" for t in sorted(RAW)]
        if scenario == "missing-warehouse":
            steps = found.pop("dagster.step_failed_missing_warehouse")
            assert {f.evidence["warehouse"] for f in steps} == {"demo_catalog"}
            assert run.evidence["warehouses"] == ["demo_catalog"]
        else:  # missing-raw-tables; s3-endpoint-mismatch: seeding failed, so the tables are missing
            steps = found.pop("dagster.step_failed_missing_table")
            assert sorted(f.evidence["table"] for f in steps) == RAW
            assert run.evidence["tables"] == RAW
            assert all(f.evidence["namespace"] == "demo" and f.evidence["http_status"] == 404 for f in steps)
        assert len(steps) == 4
        assert all(f.subject.startswith("demo_pipeline/bronze__") for f in steps)
    assert not found, found  # nothing else


# --- the classifier over real error chains --------------------------------------------------------------------

URLLIB3_DNS = (
    "requests.exceptions.ConnectionError: HTTPConnectionPool(host='floe-infra-polaris', port=8181): Max retries "
    'exceeded with url: /api/catalog/v1/config?warehouse=demo_catalog (Caused by NameResolutionError("HTTPConnection('
    "host='floe-infra-polaris', port=8181): Failed to resolve 'floe-infra-polaris' ([Errno -2] Name or service not "
    'known)"))'
)
URLLIB3_REFUSED = (
    "requests.exceptions.ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=8181): Max retries exceeded with "
    "url: /v1/config (Caused by NewConnectionError(\"HTTPConnection(host='127.0.0.1', port=8181): Failed to establish "
    'a new connection: [Errno 111] Connection refused"))'
)
POLARIS_S3 = [
    "pyiceberg.exceptions.ServerError: SdkClientException: Received an UnknownHostException when attempting to "
    "interact with a service. See cause for the exact endpoint that is failing to resolve.",
    "requests.exceptions.HTTPError: 500 Server Error: Internal Server Error for url: "
    "http://floe-infra-polaris:8181/api/catalog/v1/demo_catalog/namespaces/demo/tables",
]


@pytest.mark.parametrize(
    ("chain", "kind", "facts"),
    [
        (
            ["pyiceberg.exceptions.NoSuchTableError: NoSuchTableException: Table does not exist: demo.raw_orders"],
            "missing_table",
            {"table": "demo.raw_orders", "namespace": "demo"},
        ),
        (["dbt: Catalog Error: Table with name raw_orders does not exist!"], "missing_table", {"table": "raw_orders"}),
        (
            ["pyiceberg.exceptions.NoSuchNamespaceError: NoSuchNamespaceException: Namespace does not exist: demo"],
            "missing_namespace",
            {"namespace": "demo"},
        ),
        (
            ["pyiceberg.exceptions.RESTError: NotFoundException: Unable to find warehouse demo_catalog"],
            "missing_warehouse",
            {"warehouse": "demo_catalog"},
        ),
        ([URLLIB3_DNS], "unknown_host", {"host": "floe-infra-polaris", "port": 8181}),
        (
            ["java.net.UnknownHostException: iceberg-bronze.floe-infra-localstack: Name or service not known"],
            "unknown_host",
            {"host": "iceberg-bronze.floe-infra-localstack"},
        ),
        (["curl: (6) Could not resolve host: localstack"], "unknown_host", {"host": "localstack"}),
        (POLARIS_S3, "unknown_host", {"http_status": 500}),  # the catalog's own S3 I/O: no host named, not Polaris
        ([URLLIB3_REFUSED], "connection_refused", {"host": "127.0.0.1", "port": 8181}),
        (
            [
                'botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL: "http://minio:9000/b"'
            ],
            "endpoint_unreachable",
            {"host": "minio", "port": 9000},
        ),
        (
            ["pyiceberg.exceptions.BadRequestException: 422 Client Error: Unprocessable Entity for url: http://p/v1/x"],
            "catalog_error",
            {"http_status": 422, "url": "http://p/v1/x"},
        ),
        (["pyiceberg.exceptions.OAuthError: invalid_client: The client is not authorized"], "auth", {}),
        (["ValueError: something else entirely"], "", {"error": "ValueError: something else entirely"}),
    ],
)
def test_classify(chain: list[str], kind: str, facts: dict[str, Any]) -> None:
    got_kind, got = classify(chain)
    assert got_kind == kind
    assert {k: got.get(k) for k in facts} == facts
    if kind == "unknown_host" and "host" not in facts:
        assert "host" not in got  # never the catalog's host for the catalog's storage failure


# --- a fake Dagster's run history ------------------------------------------------------------------------------


def run(rid: str, status: str, job: str = "demo_pipeline", failed: tuple[str, ...] = ()) -> dict[str, Any]:
    steps = [{"stepKey": s, "status": "FAILURE"} for s in failed]
    return {"runId": rid, "jobName": job, "status": status, "startTime": 1.0, "endTime": 2.0, "stepStats": steps}


def step_failure(step: str, *causes: str) -> dict[str, Any]:
    top = f'dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op "{step}":'
    chain = [{"error": {"className": "E", "message": c}} for c in causes]
    return {
        "__typename": "ExecutionStepFailureEvent",
        "stepKey": step,
        "error": {"className": "DagsterExecutionStepExecutionError", "message": top, "errorChain": chain},
    }


def logs(events_by_run: dict[str, list[dict[str, Any]]]) -> Any:
    def answer(variables: dict[str, str]) -> dict[str, Any]:
        return {
            "data": {
                alias: {"__typename": "EventConnection", "hasMore": False, "events": events_by_run[rid]}
                for alias, rid in variables.items()
            }
        }

    return answer


def runs(*results: Any) -> dict[str, Any]:
    return {"data": {"runsOrError": {"__typename": "Runs", "results": list(results)}}}


async def probe_fake(make_ctx: CtxFactory, **answers: Any) -> dict[str, list[Finding]]:
    async with fake_dagster(**answers) as url:
        ctx = make_ctx("dagster-webserver", {"http": {"urls": {"local": url}}}, check="dagster_runs")
        return by_code(await run_probe(dagster_runs, ctx))


async def test_failed_steps_are_classified(make_ctx: CtxFactory) -> None:
    events = {
        "r2": [
            step_failure("bronze__raw_orders", URLLIB3_DNS),
            step_failure("bronze__raw_products", "ValueError: bad row"),
            {"__typename": "RunFailureEvent", "message": 'Execution of run for "demo_pipeline" failed.', "error": None},
        ]
    }
    found = await probe_fake(
        make_ctx,
        runs=runs(
            run("r2", "FAILURE", failed=("bronze__raw_orders", "bronze__raw_products")),
            run("r1", "FAILURE"),
            run("b1", "SUCCESS", job="demo_bronze"),
            run("b0", "FAILURE", job="demo_bronze"),
        ),
        logs=logs(events),
    )
    [failed] = found["dagster.run_failed"]
    assert (failed.evidence["run_id"], failed.evidence["earlier_failures"], failed.evidence["hosts"]) == (
        "r2",
        1,
        ["floe-infra-polaris"],
    )
    assert failed.evidence["step_codes"] == {
        "bronze__raw_orders": "dagster.step_failed_unknown_host",
        "bronze__raw_products": "dagster.step_failed",
    }
    [dns] = found["dagster.step_failed_unknown_host"]
    assert (dns.subject, dns.evidence["host"], dns.component) == (
        "demo_pipeline/bronze__raw_orders",
        "floe-infra-polaris",
        "dagster-user-code",
    )
    assert found["dagster.step_failed"][0].evidence["error"] == "ValueError: bad row"
    [bronze] = found["dagster.run_succeeded"]  # an older failure is history once a later run succeeded
    assert (bronze.subject, bronze.evidence["earlier_failures"]) == ("demo_bronze", 1)


async def test_run_failure_outside_steps(make_ctx: CtxFactory) -> None:
    crash = {
        "__typename": "RunFailureEvent",
        "message": "Run worker failed",
        "error": {"className": "E", "message": URLLIB3_REFUSED, "errorChain": []},
    }
    found = await probe_fake(make_ctx, runs=runs(run("r1", "FAILURE")), logs=logs({"r1": [crash]}))
    [failed] = found.pop("dagster.run_failed")
    assert (failed.evidence["error_kind"], failed.evidence["port"]) == ("connection_refused", 8181)
    assert not found


@pytest.mark.parametrize(
    ("results", "code", "status"),
    [
        ((), "dagster.no_runs", Status.UNKNOWN),
        ((run("r1", "STARTED"), run("r0", "QUEUED")), "dagster.run_in_progress", Status.UNKNOWN),
        ((run("r1", "CANCELED"),), "dagster.run_canceled", Status.WARN),
        ((run("r2", "STARTED"), run("r1", "SUCCESS")), "dagster.run_succeeded", Status.OK),
    ],
)
async def test_run_histories(
    make_ctx: CtxFactory, results: tuple[dict[str, Any], ...], code: str, status: Status
) -> None:
    found = await probe_fake(make_ctx, runs=runs(*results))
    [finding] = found.pop(code)
    assert finding.status is status
    assert not found


async def test_unreadable_event_log_still_reports_the_run(make_ctx: CtxFactory) -> None:
    found = await probe_fake(make_ctx, runs=runs(run("r1", "FAILURE", failed=("s",))), logs=(500, {"oops": 1}))
    [failed] = found.pop("dagster.run_failed")
    assert failed.evidence["failed_steps"] == ["s"]
    assert "HTTP 500" in failed.evidence["events_error"]
    assert not found


async def test_runs_query_errors(make_ctx: CtxFactory) -> None:
    found = await probe_fake(make_ctx, runs={"data": {"runsOrError": {"__typename": "PythonError", "message": "boom"}}})
    [finding] = found["dagster.runs_unavailable"]
    assert (finding.component, finding.evidence["error"]) == ("dagster-webserver", "PythonError: boom")


async def test_garbage_shapes_give_findings_not_tracebacks(make_ctx: CtxFactory) -> None:
    garbage = runs(1, None, {"runId": None, "status": "FAILURE", "stepStats": [None]}, {"status": "SUCCESS"})
    found = await probe_fake(make_ctx, runs=garbage, logs={"data": {"r0": {"events": [None, 3]}}})
    assert set(found) == {"dagster.run_failed"}  # both nameless runs count as one job; the newest failed


async def test_skipped_when_the_webserver_is_down(make_ctx: CtxFactory) -> None:
    ctx = make_ctx("dagster-webserver", {"http": {"urls": {"local": f"http://127.0.0.1:{closed_port()}"}}})
    down = (await run_probe(dagster, ctx.for_check("dagster")))[0]
    [finding] = await run_probe(dagster_runs, ctx.for_check("dagster_runs", prior=(down,)))
    assert (finding.status, finding.code, finding.evidence["blocked_by"]) == (
        Status.UNKNOWN,
        Code.PROBE_SKIPPED,
        "dagster.webserver_unreachable",
    )


# --- servers that cannot list runs ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["error", "notjson", "truncated", "auth", "forbidden", "ok-json", "slow"])
async def test_bad_servers(make_ctx: CtxFactory, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    monkeypatch.setattr(runs_module, "REQUEST_TIMEOUT_S", 0.3)
    async with bad_server() as base:
        ctx = make_ctx("dagster-webserver", {"http": {"urls": {"local": f"{base}/{kind}"}}})
        [finding] = await run_probe(dagster_runs, ctx)
    assert (finding.status, finding.code) == (Status.UNKNOWN, "dagster.runs_unavailable"), finding.summary
    assert finding.evidence["error"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:{closed}", "https://127.0.0.1:{port}"])
async def test_unreachable(make_ctx: CtxFactory, url: str) -> None:
    url = url.replace("{closed}", str(closed_port()))  # chosen now: a port picked at collection may be reused
    async with fake_dagster() as plain:
        ctx = make_ctx("dagster-webserver", {"http": {"urls": {"local": url.format(port=plain.rsplit(":", 1)[1])}}})
        [finding] = await run_probe(dagster_runs, ctx)
    assert finding.code == "dagster.runs_unavailable"
    assert "ConnectError" in finding.evidence["error"]
