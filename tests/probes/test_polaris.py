"""polaris probe: the real lab per scenario; the Polaris stand-in in-process (moto S3) for the faults no lab
scenario has (bad scope, wrong secret, STS role, allowedLocations, the namespace prefix slip, a token without
privileges); and every bad-answer class of a misbehaving server, a closed port and TLS against plain HTTP."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from aiohttp import web

from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.probes.polaris import polaris as polaris_probe
from floe_lab.polaris import RunningPolaris
from tests.support.lab import LabHandle, findings_of, probe_findings
from tests.support.net import bad_server, closed_port, serve
from tests.support.polaris import (
    CLIENT_ID,
    CLIENT_SECRET,
    FLOE_STORAGE,
    IN_CLUSTER_S3,
    LOCALSTACK,
    ROLE_ARN,
    PolarisS3,
    ctx_for,
    lab_platform,
    polaris_create_catalog,
    polaris_token,
    standin_components,
)
from tests.support.probes import run_probe


def problems(findings: list[Finding]) -> dict[str, str]:
    return {f.subject: str(f.code) for f in findings if f.status is not Status.OK}


# --- the real lab ---------------------------------------------------------------------------------------------
LAB_PROBLEMS: dict[str, dict[str, str]] = {
    "healthy": {},
    "missing-raw-tables": {},
    "missing-warehouse": {"demo_catalog": "polaris.warehouse_missing"},
    "missing-namespace": {"demo": "polaris.namespace_missing"},
    "s3-endpoint-mismatch": {
        "demo_catalog.storageConfigInfo.endpoint": "polaris.storage_endpoint_mismatch",
        "demo_catalog.storageConfigInfo.pathStyleAccess": "polaris.virtual_host_addressing",
    },
}


@pytest.mark.lab
@pytest.mark.parametrize("lab", list(LAB_PROBLEMS), indirect=True)
async def test_lab(lab: LabHandle) -> None:
    found = findings_of(await probe_findings(lab, polaris_probe, only="polaris"), "polaris")
    assert problems(found) == LAB_PROBLEMS[lab.info["scenario"]], [f.summary for f in found]
    codes = {str(f.code) for f in found}
    assert {"polaris.healthy", "polaris.auth_ok"} <= codes
    if lab.info["scenario"] in ("healthy", "missing-raw-tables"):
        oks = {f.subject for f in found if f.code == "polaris.namespace_ok"}
        assert oks == {"bronze", "silver", "gold", "demo"}
        assert {"polaris.warehouse_ok", "polaris.storage_ok"} <= codes
    if lab.info["scenario"] == "s3-endpoint-mismatch":
        [mismatch] = [f for f in found if f.code == "polaris.storage_endpoint_mismatch"]
        assert mismatch.evidence["storage_host"] == "localstack"
        assert mismatch.evidence["platform_storage_endpoints"] == [IN_CLUSTER_S3]


# --- the stand-in in-process: faults the lab scenarios do not stage -------------------------------------------
async def make_namespaces(running: RunningPolaris, *names: str) -> None:
    token = await polaris_token(running)
    async with httpx.AsyncClient(base_url=running.catalog_uri, headers={"Authorization": f"Bearer {token}"}) as c:
        for ns in names:
            response = await c.post("/v1/demo_catalog/namespaces", json={"namespace": [ns]})
            assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ({}, {}),
        (
            {"roleArn": ROLE_ARN, "stsUnavailable": None},
            {"demo_catalog.storageConfigInfo.roleArn": "polaris.role_without_sts"},
        ),
        (
            {"allowedLocations": ["s3://iceberg-bronze/"]},
            {"demo_catalog.storageConfigInfo.allowedLocations": "polaris.location_not_allowed"},
        ),
        (
            {"endpoint": "http://localstack:4566", "pathStyleAccess": False},
            {
                "demo_catalog.storageConfigInfo.endpoint": "polaris.storage_endpoint_mismatch",
                "demo_catalog.storageConfigInfo.pathStyleAccess": "polaris.virtual_host_addressing",
            },
        ),
    ],
    ids=["agrees", "role-without-sts", "bucket-not-allowed", "endpoint-and-addressing"],
)
async def test_storage_config_against_platform(
    polaris: RunningPolaris,
    polaris_s3: PolarisS3,
    http: httpx.AsyncClient,
    storage: dict[str, Any],
    expected: dict[str, str],
) -> None:
    assert (await polaris_create_catalog(polaris, polaris_s3, **{**FLOE_STORAGE, **storage})).status_code == 201
    await make_namespaces(polaris, "demo", "bronze", "silver", "gold")
    found = await run_probe(
        polaris_probe, ctx_for(http, "polaris", standin_components(polaris, polaris_s3), plat=lab_platform())
    )
    assert problems(found) == expected
    if not expected:
        [ok] = [f for f in found if f.code == "polaris.storage_ok"]
        assert ok.evidence["storage_host"] == LOCALSTACK
    if "demo_catalog.storageConfigInfo.allowedLocations" in expected:
        [f] = [f for f in found if f.code == "polaris.location_not_allowed"]
        assert f.evidence["buckets_not_allowed"] == ["iceberg-gold", "iceberg-silver"]


async def test_namespace_prefix_mistake(
    polaris: RunningPolaris, polaris_s3: PolarisS3, http: httpx.AsyncClient
) -> None:
    await polaris_create_catalog(polaris, polaris_s3, **FLOE_STORAGE)
    await make_namespaces(polaris, "demo", "bronze")
    plat = lab_platform(bronze="demo_catalog.bronze", silver="demo_catalog.silver")
    found = await run_probe(polaris_probe, ctx_for(http, "polaris", standin_components(polaris, polaris_s3), plat=plat))
    assert problems(found) == {
        "demo_catalog.bronze": "polaris.namespace_prefix_mistake",
        "demo_catalog.silver": "polaris.namespace_prefix_mistake",
        "gold": "polaris.namespace_missing",
    }
    by_subject = {f.subject: f for f in found}
    assert by_subject["demo_catalog.bronze"].evidence["intended_exists"] is True
    assert by_subject["demo_catalog.silver"].evidence["intended_exists"] is False


async def test_any_dotted_prefix_is_a_slip_but_a_nested_namespace_under_a_real_parent_is_missing(
    polaris: RunningPolaris, polaris_s3: PolarisS3, http: httpx.AsyncClient
) -> None:
    """The slip is any qualifier and a dot in front of the meant namespace (a release's name, several levels), not
    only the warehouse's name; a dotted name under a parent that exists is a nested namespace, simply missing."""
    await polaris_create_catalog(polaris, polaris_s3, **FLOE_STORAGE)
    await make_namespaces(polaris, "demo", "bronze")
    plat = lab_platform(bronze="acme-prod.bronze", silver="team.x.bronze", gold="demo.gold_marts")
    found = await run_probe(polaris_probe, ctx_for(http, "polaris", standin_components(polaris, polaris_s3), plat=plat))
    assert problems(found) == {
        "acme-prod.bronze": "polaris.namespace_prefix_mistake",
        "team.x.bronze": "polaris.namespace_prefix_mistake",
        "demo.gold_marts": "polaris.namespace_missing",
    }
    by_subject = {f.subject: f.evidence for f in found}
    assert {k: by_subject["acme-prod.bronze"][k] for k in ("prefix", "intended_namespace", "intended_exists")} == {
        "prefix": "acme-prod", "intended_namespace": "bronze", "intended_exists": True}  # fmt: skip
    assert (by_subject["team.x.bronze"]["prefix"], by_subject["team.x.bronze"]["intended_namespace"]) == (
        "team.x", "bronze")  # fmt: skip
    assert by_subject["acme-prod.bronze"]["expected_by"] == "layers.bronze.namespace"


async def test_one_run_logs_in_once(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    """Every probe that reads the catalog logs in; within one run they share one token request (a refusal too)."""
    token_requests: list[str] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/v1/oauth/tokens"):
            token_requests.append(request.url.path)

    await polaris_create_catalog(polaris, polaris_s3, **FLOE_STORAGE)
    components = standin_components(polaris, polaris_s3)
    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        run = ctx_for(http, "polaris", components, plat=lab_platform())
        first, second = await run_probe(polaris_probe, run), await run_probe(polaris_probe, run)
        assert len(token_requests) == 1
        assert {f.code for f in first} == {f.code for f in second} >= {"polaris.auth_ok"}
        await run_probe(polaris_probe, ctx_for(http, "polaris", components, plat=lab_platform()))  # a new run
        assert len(token_requests) == 2
        refused = ctx_for(
            http, "polaris", components, credentials={"polaris_client_id": "x", "polaris_client_secret": "y"}
        )
        for _ in range(2):
            found = await run_probe(polaris_probe, refused)
            assert "polaris.auth_failed" in {f.code for f in found}
        assert len(token_requests) == 3


@pytest.mark.parametrize(
    ("credentials", "code", "error"),
    [
        ({"polaris_client_secret": "wrong"}, "polaris.auth_failed", "unauthorized_client"),
        ({"polaris_client_id": "nobody"}, "polaris.auth_failed", "unauthorized_client"),
        ({"polaris_scope": "service_admin"}, "polaris.scope_invalid", "invalid_scope"),
    ],
)
async def test_login_refused(
    polaris: RunningPolaris,
    polaris_s3: PolarisS3,
    http: httpx.AsyncClient,
    credentials: dict[str, str],
    code: str,
    error: str,
) -> None:
    creds = {"polaris_client_id": CLIENT_ID, "polaris_client_secret": CLIENT_SECRET, **credentials}
    found = await run_probe(
        polaris_probe, ctx_for(http, "polaris", standin_components(polaris, polaris_s3), credentials=creds)
    )
    [login] = [f for f in found if f.subject.endswith("/api/catalog")]
    assert (login.status, login.code, login.evidence["error_type"]) == (Status.FAIL, code, error)
    assert CLIENT_SECRET not in str(login.model_dump()) and "wrong" not in str(login.evidence)


async def test_token_without_privileges(
    polaris: RunningPolaris, polaris_s3: PolarisS3, http: httpx.AsyncClient
) -> None:
    """A scope naming a role the principal lacks gets a token that can read nothing: 403 on what matters."""
    await polaris_create_catalog(polaris, polaris_s3, **FLOE_STORAGE)
    creds = {
        "polaris_client_id": CLIENT_ID,
        "polaris_client_secret": CLIENT_SECRET,
        "polaris_scope": "PRINCIPAL_ROLE:x",
    }
    found = await run_probe(
        polaris_probe, ctx_for(http, "polaris", standin_components(polaris, polaris_s3), credentials=creds)
    )
    codes = problems(found)
    assert codes["demo_catalog.storageConfigInfo"] == "polaris.storage_config_unreadable"
    assert set(codes.values()) == {"polaris.storage_config_unreadable", "polaris.not_authorized"}


async def test_no_credentials_is_unknown(polaris: RunningPolaris, polaris_s3: PolarisS3, http: httpx.AsyncClient,
                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.delenv("POLARIS_CLIENT_ID", raising=False)
    monkeypatch.delenv("POLARIS_CLIENT_SECRET", raising=False)
    found = await run_probe(
        polaris_probe, ctx_for(http, "polaris", standin_components(polaris, polaris_s3), credentials={})
    )
    assert {(f.status, str(f.code)) for f in found} == {(Status.OK, "polaris.healthy"),
                                                        (Status.UNKNOWN, "polaris.credentials_missing")}  # fmt: skip


# --- bad answers ----------------------------------------------------------------------------------------------
def bad_ctx(http: httpx.AsyncClient, api: str, management: str) -> ProbeContext:
    components = {
        "polaris": {"endpoints": {"api": {"urls": {"local": api}}, "management": {"urls": {"local": management}}}}
    }
    return ctx_for(http, "polaris", components)


@pytest.mark.parametrize(
    ("kind", "login_code", "health_code", "reason"),
    [
        ("slow", "polaris.unreachable", "polaris.unreachable", "timeout"),
        ("error", "polaris.api_error", "polaris.unhealthy", None),
        ("notjson", "polaris.bad_response", "polaris.bad_response", "not_json"),
        ("truncated", "polaris.bad_response", "polaris.bad_response", "truncated"),
        ("auth", "polaris.auth_failed", "polaris.unhealthy", None),
        ("forbidden", "polaris.auth_failed", "polaris.unhealthy", None),
    ],
)
async def test_bad_server(
    http: httpx.AsyncClient, kind: str, login_code: str, health_code: str, reason: str | None
) -> None:
    async with bad_server() as base:
        started = time.monotonic()
        found = await run_probe(polaris_probe, bad_ctx(http, f"{base}/{kind}", f"{base}/{kind}"))
        elapsed = time.monotonic() - started
    assert elapsed < polaris_probe.timeout_s - 1
    by_subject = {f.subject: f for f in found}
    login, health = by_subject[f"{base}/{kind}/api/catalog"], by_subject[f"{base}/{kind}/q/health"]
    assert (login.status, login.code, health.status, health.code) == (Status.FAIL, login_code, Status.FAIL, health_code)
    assert login.evidence.get("reason") == reason
    assert health.summary and login.summary


@pytest.mark.parametrize(("scheme", "reason"), [("http", "refused"), ("https", "tls")])
async def test_unreachable(http: httpx.AsyncClient, scheme: str, reason: str) -> None:
    async with bad_server() as base:
        url = (
            f"https://{base.removeprefix('http://')}/ok-json"
            if scheme == "https"
            else f"http://127.0.0.1:{closed_port()}"
        )
        found = await run_probe(polaris_probe, bad_ctx(http, url, url))
    assert {(f.code, f.evidence.get("reason")) for f in found} == {("polaris.unreachable", reason)}
    assert len(found) == 2  # health and login, each with its reason


async def test_readiness_down(http: httpx.AsyncClient) -> None:
    """Quarkus' 503 DOWN (the persistence database is unreachable) names the failing check."""
    check = {"name": "Database connections health check", "status": "DOWN", "data": {"<default>": "connection refused"}}

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"status": "DOWN", "checks": [check]}, status=503)

    async def live(request: web.Request) -> web.Response:
        return web.json_response({"status": "UP", "checks": []})

    app = web.Application()
    app.router.add_get("/q/health/ready", ready)
    app.router.add_get("/q/health/live", live)
    async with serve(app) as base:
        found = await run_probe(polaris_probe, bad_ctx(http, f"http://127.0.0.1:{closed_port()}", base))
    [health] = [f for f in found if f.subject.endswith("/q/health")]
    assert (health.status, health.code) == (Status.FAIL, "polaris.unhealthy")
    assert health.evidence["ready"]["checks"] == [check]
    assert health.evidence["live"]["status"] == "UP"


def test_codes_are_declared() -> None:
    from floe_agents.probes.polaris import CODES  # noqa: PLC0415

    assert len(set(CODES)) == len(CODES)
    assert all(c.startswith("polaris.") for c in CODES)
    assert Code.ENDPOINT_NOT_CONFIGURED  # the one built-in code the probe may emit (no catalog URL from here)
