"""dagster probe: against the lab's real Dagster 1.13 (healthy, webserver pod down, unmigrated storage), against a
fake Dagster GraphQL server for what the lab does not break (code location errors, daemons, other storage faults),
and against servers that are not a usable Dagster (closed, slow, 500, HTML, truncated, auth, TLS mismatch)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from floe_agents.findings import Code, Finding, Severity, Status
from floe_agents.probes import dagster as dagster_module
from floe_agents.probes.dagster import CODES, dagster
from tests.support.dagster import daemon, daemons, fake_dagster, gql_error, workspace
from tests.support.lab import LabHandle, findings_of, probe_findings
from tests.support.net import bad_server, closed_port
from tests.support.probes import CtxFactory, finding_per_code, run_probe


def by_code(findings: list[Finding]) -> dict[str, Finding]:
    return finding_per_code(findings, CODES)


async def probe_url(make_ctx: CtxFactory, url: str) -> dict[str, Finding]:
    ctx = make_ctx("dagster-webserver", {"http": {"urls": {"local": url}, "health_path": "/server_info"}})
    return by_code(await run_probe(dagster, ctx))


# --- the real lab ---------------------------------------------------------------------------------------------


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy", "missing-secret", "unmigrated-schema", "seed"], indirect=True)
async def test_lab(lab: LabHandle) -> None:
    found = by_code(findings_of(await probe_findings(lab, dagster, only="dagster-webserver"), "dagster"))
    scenario = lab.info["scenario"]
    if scenario == "healthy":
        ok = found["dagster.webserver_ok"]
        assert ok.component == "dagster-webserver"
        assert ok.evidence["dagster_version"] == ok.evidence["graphql_version"] == "1.13.27"
        loaded = found["dagster.code_location_loaded"]
        assert (loaded.component, loaded.subject) == ("dagster-user-code", "floe-demo")
        assert "demo_pipeline" in loaded.evidence["repositories"]["__repository__"]
        healthy = found["dagster.daemons_healthy"]
        assert healthy.component == "dagster-daemon"
        assert {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR"} <= set(healthy.evidence["healthy"])
        assert not [f for f in found.values() if f.is_problem]
    elif scenario == "unmigrated-schema":  # the webserver runs, but every storage read fails
        assert found["dagster.webserver_ok"].status is Status.OK
        storage = found["dagster.storage_error"]
        assert (storage.severity, storage.evidence["reason"]) == (Severity.CRITICAL, "missing_tables")
        assert {"daemon_heartbeats", "kvs"} <= set(storage.evidence["relations"])
        assert "code location floe-demo" in storage.evidence["affected"]
        assert "dagster.code_location_error" not in found  # the location failed on storage, not on its code
    else:  # missing-secret, seed: the webserver pod never starts (CreateContainerConfigError)
        [down] = found.values()
        assert (down.code, down.evidence["reason"]) == ("dagster.webserver_unreachable", "refused")


# --- a fake Dagster for what the lab does not break ------------------------------------------------------------


async def test_path_prefix_is_kept(make_ctx: CtxFactory) -> None:
    async with fake_dagster(prefix="/dagster") as url:
        found = await probe_url(make_ctx, url)
    assert found["dagster.webserver_ok"].evidence["dagster_webserver_version"] == "1.13.27"


async def test_code_location_errors_belong_to_the_user_code(make_ctx: CtxFactory) -> None:
    unreachable = {
        "name": "floe-demo",
        "loadStatus": "LOADED",
        "locationOrLoadError": {
            "__typename": "PythonError",
            "className": "DagsterUserCodeUnreachableError",
            "message": "dagster._core.errors.DagsterUserCodeUnreachableError: Could not reach user code server. "
            "gRPC Error code: UNAVAILABLE",
            "errorChain": [
                {"error": {"className": "_InactiveRpcError", "message": "failed to connect to all addresses"}}
            ],
        },
    }
    broken = {
        "name": "other",
        "loadStatus": "LOADED",
        "locationOrLoadError": {
            "__typename": "PythonError",
            "className": "ModuleNotFoundError",
            "message": "ModuleNotFoundError: No module named 'floe_dbt'",
            "errorChain": [],
        },
    }
    loading = {"name": "slow", "loadStatus": "LOADING", "locationOrLoadError": None}
    async with fake_dagster(workspace=workspace(unreachable, broken, loading)) as url:
        ctx = make_ctx("dagster-webserver", {"http": {"urls": {"local": url}}})
        findings = await run_probe(dagster, ctx)
    errors = {f.subject: f for f in findings if f.code == "dagster.code_location_error"}
    assert errors["floe-demo"].component == "dagster-user-code"
    assert errors["floe-demo"].evidence["reason"] == "user_code_unreachable"
    assert "No module named 'floe_dbt'" in errors["other"].evidence["error"]
    assert [f.subject for f in findings if f.code == "dagster.code_location_loading"] == ["slow"]


async def test_no_code_locations(make_ctx: CtxFactory) -> None:
    async with fake_dagster(workspace=workspace()) as url:
        found = await probe_url(make_ctx, url)
    assert found["dagster.no_code_locations"].status is Status.WARN


async def test_daemons(make_ctx: CtxFactory) -> None:
    statuses = daemons(
        daemon("SENSOR"),
        daemon("SCHEDULER", healthy=False, beat=600.0),
        daemon("QUEUED_RUN_COORDINATOR", healthy=False, beat=None),
        daemon("BACKFILL", errors=("dagster._core.errors.DagsterError: backfill exploded",)),
    )
    async with fake_dagster(daemons=statuses) as url:
        ctx = make_ctx("dagster-webserver", {"http": {"urls": {"local": url}}})
        findings = await run_probe(dagster, ctx)
    unhealthy = {f.subject: f for f in findings if f.code == "dagster.daemon_unhealthy"}
    assert set(unhealthy) == {"SCHEDULER", "QUEUED_RUN_COORDINATOR"}
    assert all(f.component == "dagster-daemon" for f in unhealthy.values())
    assert unhealthy["SCHEDULER"].evidence["heartbeat_age_s"] >= 600
    assert "never sent a heartbeat" in unhealthy["QUEUED_RUN_COORDINATOR"].summary
    assert [f.subject for f in findings if f.code == "dagster.daemon_errors"] == ["BACKFILL"]
    assert not [f for f in findings if f.code == "dagster.daemons_healthy"]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "pg" (10.0.0.1), '
            'port 5432 failed: FATAL:  password authentication failed for user "dagster"',
            "auth_failed",
        ),
        (
            'sqlalchemy.exc.ProgrammingError: (psycopg2.errors.UndefinedTable) relation "runs" does not exist',
            "missing_tables",
        ),
        (
            "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) could not translate host name "
            '"floe-infra-postgresql" to address',
            "unreachable",
        ),
    ],
)
async def test_storage_errors_are_one_finding(make_ctx: CtxFactory, message: str, reason: str) -> None:
    async with fake_dagster(workspace=gql_error(message), daemons=gql_error(message)) as url:
        found = await probe_url(make_ctx, url)
    storage = found["dagster.storage_error"]
    assert (storage.evidence["reason"], storage.evidence["affected"]) == (reason, ["daemons", "workspace"])
    assert "dagster.graphql_error" not in found
    assert found["dagster.webserver_ok"].status is Status.OK


async def test_a_location_error_is_not_storage_when_the_storage_works(make_ctx: CtxFactory) -> None:
    own_db = {
        "name": "floe-demo",
        "loadStatus": "LOADED",
        "locationOrLoadError": {
            "__typename": "PythonError",
            "message": 'sqlalchemy.exc.OperationalError: could not translate host name "warehouse-db" to address',
        },
    }
    async with fake_dagster(workspace=workspace(own_db)) as url:
        found = await probe_url(make_ctx, url)
    assert found["dagster.code_location_error"].component == "dagster-user-code"
    assert "dagster.storage_error" not in found


@pytest.mark.parametrize(
    "answers",
    [
        {"server_info": [1, 2]},
        {"version": {"data": []}, "workspace": {"data": "x"}, "daemons": {"errors": ["plain string"]}},
        {"workspace": workspace(1, None, {"locationOrLoadError": {"__typename": "PythonError", "errorChain": [None]}})},
        {"daemons": daemons(None, "x", {"daemonType": "SENSOR", "required": True, "lastHeartbeatTime": "soon"})},
    ],
)
async def test_garbage_shapes_give_findings_not_tracebacks(make_ctx: CtxFactory, answers: dict[str, Any]) -> None:
    async with fake_dagster(**answers) as url:
        found = await probe_url(make_ctx, url)
    assert found


async def test_other_graphql_errors(make_ctx: CtxFactory) -> None:
    python_error = {"data": {"workspaceOrError": {"__typename": "PythonError", "message": "KeyError: 'boom'"}}}
    async with fake_dagster(
        workspace=python_error, version=(400, {"errors": [{"message": "Cannot query field"}]})
    ) as url:
        ctx = make_ctx("dagster-webserver", {"http": {"urls": {"local": url}}})
        findings = await run_probe(dagster, ctx)
    errors = {f.subject: f for f in findings if f.code == "dagster.graphql_error"}
    assert errors["workspaceOrError"].evidence["errors"] == ["KeyError: 'boom'"]
    assert errors[url].evidence["errors"] == ["Cannot query field"]  # { version } itself failed


# --- servers that are not a usable Dagster --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "reason"),
    [
        ("error", "dagster.webserver_bad_answer", "http_500"),
        ("notjson", "dagster.webserver_bad_answer", "not_json"),
        ("truncated", "dagster.webserver_bad_answer", "truncated"),
        ("auth", "dagster.webserver_bad_answer", "auth"),
        ("forbidden", "dagster.webserver_bad_answer", "auth"),
        ("ok-json", "dagster.graphql_error", None),  # answers {} to everything: no GraphQL data
        ("slow", "dagster.webserver_unreachable", "timeout"),
    ],
)
async def test_bad_servers(
    make_ctx: CtxFactory, monkeypatch: pytest.MonkeyPatch, kind: str, code: str, reason: str | None
) -> None:
    monkeypatch.setattr(dagster_module, "REQUEST_TIMEOUT_S", 0.3)
    async with bad_server() as base:
        t0 = time.monotonic()
        found = await probe_url(make_ctx, f"{base}/{kind}")
    assert time.monotonic() - t0 < 2.0
    [finding] = found.values()
    assert (finding.code, finding.status, finding.evidence.get("reason")) == (code, Status.FAIL, reason)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"http://127.0.0.1:{closed_port()}", "refused"),
        ("http://floe-dagster-dagster-webserver.invalid", "unresolvable"),
    ],
)
async def test_unreachable(make_ctx: CtxFactory, url: str, reason: str) -> None:
    [finding] = (await probe_url(make_ctx, url)).values()
    assert (finding.code, finding.evidence["reason"]) == ("dagster.webserver_unreachable", reason)


async def test_https_against_plain_http(make_ctx: CtxFactory) -> None:
    async with fake_dagster() as url:
        [finding] = (await probe_url(make_ctx, url.replace("http://", "https://"))).values()
    assert (finding.code, finding.evidence["reason"]) == ("dagster.webserver_unreachable", "tls")


async def test_no_endpoint(make_ctx: CtxFactory) -> None:
    ctx = make_ctx("dagster-webserver", {"http": {"urls": {"cluster": "http://floe-dagster-dagster-webserver"}}})
    [finding] = await run_probe(dagster, ctx)
    assert (finding.status, finding.code) == (Status.UNKNOWN, Code.ENDPOINT_NOT_CONFIGURED)
