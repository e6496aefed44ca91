"""endpoints probe: against the lab (healthy, and the catalog storage endpoint that names no Service), a fake API
and catalog serving hand-written objects (port mismatch, in-cluster names, URLs in ConfigMaps), and bad servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from floe_agents.config.platform import PlatformConfig
from floe_agents.findings import Finding, Status
from floe_agents.probes import _catalog as catalog_module
from floe_agents.probes import _kube_api as kube_api_module
from floe_agents.probes.endpoints import CODES, endpoints
from tests.support.kube import fake_apiserver, kube_ctx, meta, pod
from tests.support.lab import LabHandle, findings_of, probe_findings
from tests.support.net import bad_server, closed_port, serve
from tests.support.probes import run_probe

RUNNING: dict[str, Any] = {"running": {}}
CATALOG_ENDPOINT = "catalog demo_catalog storageConfigInfo.endpoint"
CLUSTER = {"resolver": "hosts", "hosts": {}, "search": ["floe.svc.cluster.local", "svc.cluster.local"]}


def where(findings: list[Finding]) -> dict[str, Finding]:
    assert all(f.code in CODES for f in findings), sorted({f.code for f in findings} - set(CODES))
    return {f.subject: f for f in findings}


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy", "s3-endpoint-mismatch", "seed"], indirect=True)
async def test_lab(lab: LabHandle) -> None:
    found = findings_of(await probe_findings(lab, endpoints, only="kubernetes"), "endpoints")
    at = where(found)
    for key in ("bronze", "silver", "gold", "default"):
        ok = at[f"platform.yaml storage.{key}.endpoint"]
        assert (ok.code, ok.component, ok.evidence["service"]) == ("endpoints.ok", "s3", "floe-infra-localstack")
    assert at["platform.yaml catalogs.default.uri"].code == "endpoints.ok"
    assert at["platform.yaml observability.otlp_endpoint"].component == "jaeger"
    assert at["platform.yaml observability.lineage_endpoint"].component == "marquez"
    user_env = {f.evidence["where"].rsplit(" ", 1)[-1]: f for f in found if f.component == "dagster-user-code"}
    assert user_env["AWS_ENDPOINT_URL"].code == user_env["POLARIS_URI"].code == "endpoints.ok"
    catalog = at[CATALOG_ENDPOINT]
    assert catalog.component == "polaris"
    if lab.info["scenario"] == "healthy":
        assert [f for f in found if f.is_problem] == []
        assert (catalog.code, catalog.evidence["service"]) == ("endpoints.ok", "floe-infra-localstack")
        assert user_env["OTEL_EXPORTER_OTLP_ENDPOINT"].code == "endpoints.ok"
        return
    ev = catalog.evidence
    assert (catalog.code, catalog.status) == ("endpoints.host_not_a_service", Status.FAIL)
    assert (ev["url"], ev["host"], ev["port"], ev["where"]) == (
        "http://localstack:4566",
        "localstack",
        4566,
        CATALOG_ENDPOINT,
    )
    assert "cluster" in ev["fails_in"] and "cluster" not in ev["resolves_in"]
    assert ev["catalog_pathStyleAccess"] is False
    # the init Job that registered it carries the same bad URL in its environment
    [init_env] = [f for f in found if f.subject.endswith("env STORAGE_ENDPOINT")]
    assert (init_env.code, init_env.component, init_env.evidence["host"]) == (
        "endpoints.host_not_a_service", "polaris", "localstack")  # fmt: skip
    assert {f.subject for f in found if f.is_problem} == {CATALOG_ENDPOINT, init_env.subject}


# --- hand-written cluster and catalog -------------------------------------------------------------------------


@asynccontextmanager
async def fake_polaris(catalogs: Mapping[str, Any], token_status: int = 200) -> AsyncIterator[str]:
    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "token_type": "bearer"}, status=token_status)

    async def catalog(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in catalogs:
            return web.json_response({"error": {"message": f"Catalog {name} not found", "code": 404}}, status=404)
        return web.json_response(catalogs[name])

    app = web.Application()
    app.router.add_post("/api/catalog/v1/oauth/tokens", token)
    app.router.add_get("/api/management/v1/catalogs/{name}", catalog)
    async with serve(app) as base:
        yield base


def platform(storage: str = "http://floe-infra-localstack:4566", warehouse: str = "demo_catalog") -> PlatformConfig:
    return PlatformConfig.model_validate(
        {
            "storage": {"default": {"endpoint": storage, "bucket": "iceberg-bronze"}},
            "catalogs": {"default": {"uri": "http://floe-infra-polaris:8181/api/catalog", "warehouse": warehouse}},
        }
    )


def service(name: str, component: str, *ports: int) -> dict[str, Any]:
    return {"metadata": meta(name, component), "spec": {"ports": [{"port": p} for p in ports]}}


CLUSTER_OBJECTS = {
    "services": [
        service("floe-infra-localstack", "localstack", 4566),
        service("floe-infra-polaris", "polaris", 8181, 8182),
    ],
    "configmaps": [{"metadata": meta("otel", "platform-config"), "data": {"OTEL": "grpc://otel.example.invalid:4317"}}],
    "pods": [
        pod("floe-cube-api-1", "api", RUNNING, env=[
            {"name": "AWS_ENDPOINT_URL", "value": "http://floe-infra-localstack:4567"},
            {"name": "POLARIS_URI", "value": "http://floe-infra-polaris.floe.svc.cluster.local:8181/api/catalog"},
            {"name": "OPENLINEAGE_URL", "value": "http://floe-infra-marquez:5000"},
            {"name": "DB", "value": "postgresql://dagster:hunter2@floe-infra-postgresql:5432/dagster?sslmode=off"},
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "valueFrom": {"configMapKeyRef": {"name": "otel", "key": "OTEL"}}},
            {"name": "NOT_A_URL", "value": "POLARIS,demo_client,demo_secret"},
        ]),
        pod("floe-cube-api-2", "api", RUNNING, env=[  # a second replica: the same env is reported once
            {"name": "AWS_ENDPOINT_URL", "value": "http://floe-infra-localstack:4567"}]),
    ],
}  # fmt: skip
CLUSTER_OBJECTS["pods"][1]["metadata"]["ownerReferences"] = CLUSTER_OBJECTS["pods"][0]["metadata"][
    "ownerReferences"
] = [{"kind": "ReplicaSet", "name": "floe-cube-api-abc", "uid": "rs"}]


async def test_services_ports_and_env() -> None:
    storage = {"storageType": "S3", "endpoint": "http://localstack:4566",
               "endpointInternal": "http://floe-infra-localstack:4566"}  # fmt: skip
    catalog = {"name": "demo_catalog", "storageConfigInfo": storage}
    async with (
        fake_apiserver(CLUSTER_OBJECTS) as api,
        fake_polaris({"demo_catalog": catalog}) as polaris,
        kube_ctx(api, components=polaris_target(polaris), platform=platform(), credentials=CREDS) as ctx,
    ):
        at = where(await run_probe(endpoints, ctx))
    env = {s.split(" env ")[1].split(" ")[0]: f for s, f in at.items() if " env " in s}
    assert set(env) == {"AWS_ENDPOINT_URL", "POLARIS_URI", "OPENLINEAGE_URL", "DB", "OTEL_EXPORTER_OTLP_ENDPOINT"}
    mismatch = env["AWS_ENDPOINT_URL"]
    assert (mismatch.code, mismatch.component) == ("endpoints.port_mismatch", "cube")
    assert (mismatch.evidence["service"], mismatch.evidence["service_ports"], mismatch.evidence["port"]) == (
        "floe-infra-localstack", [4566], 4567)  # fmt: skip
    assert env["POLARIS_URI"].code == "endpoints.ok"  # the fully qualified Service name
    # no Service of that name: fails even though the cluster's DNS cannot be observed from here
    assert env["OPENLINEAGE_URL"].code == "endpoints.host_not_a_service"
    assert env["DB"].evidence["url"] == "postgresql://floe-infra-postgresql:5432/dagster"  # no password, no query
    assert "hunter2" not in str(env["DB"].model_dump())
    otel = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert (otel.code, otel.status) == ("endpoints.unverified", Status.UNKNOWN)  # external name, cluster unobservable
    assert "(ConfigMap otel)" in otel.subject
    assert at[CATALOG_ENDPOINT].code == "endpoints.host_not_a_service"
    assert at["catalog demo_catalog storageConfigInfo.endpointInternal"].code == "endpoints.ok"
    assert at["platform.yaml storage.default.endpoint"].code == "endpoints.ok"


CREDS = {"polaris_client_id": "demo_client", "polaris_client_secret": "s3cr3t"}


def polaris_target(url: str) -> dict[str, Any]:
    return {"polaris": {"endpoints": {"api": {"urls": {"local": url}}}}}


async def test_without_a_cluster_view_names_are_judged_by_cluster_resolution() -> None:
    vantages = {"local": {"resolver": "system"}, "cluster": {**CLUSTER, "hosts": {"floe-infra-localstack": "10.0.0.9"}}}
    pf = PlatformConfig.model_validate(
        {"storage": {"a": {"endpoint": "http://floe-infra-localstack:4566", "bucket": "b"},
                     "b": {"endpoint": "http://localstack:4566", "bucket": "b"}},
         "observability": {"otlp_endpoint": "http://10.1.2.3:4317"}}
    )  # fmt: skip
    async with kube_ctx(None, vantages=vantages, platform=pf) as ctx:
        findings = await run_probe(endpoints, ctx)
    at = where(findings)
    assert at["cluster view"].code == "endpoints.no_cluster_view"
    good, bad = at["platform.yaml storage.a.endpoint"], at["platform.yaml storage.b.endpoint"]
    assert (good.code, good.evidence["resolves_in"]) == ("endpoints.ok", ["cluster"])
    assert (bad.code, bad.component, bad.evidence["fails_in"]) == (
        "endpoints.host_not_a_service",
        "s3",
        ["cluster", "local"],
    )
    assert at["platform.yaml observability.otlp_endpoint"].code == "endpoints.ok"  # an address needs no name


async def test_missing_catalog_and_refused_token() -> None:
    async with fake_polaris({}) as polaris, kube_ctx(None, components=polaris_target(polaris), platform=platform(),
                                                     credentials=CREDS) as ctx:  # fmt: skip
        missing = where(await run_probe(endpoints, ctx))["catalog demo_catalog"]
    async with (
        fake_polaris({}, token_status=401) as polaris,
        kube_ctx(None, components=polaris_target(polaris), platform=platform(), credentials=CREDS) as ctx,
    ):
        refused = where(await run_probe(endpoints, ctx))["catalog storage config"]
    assert (missing.code, missing.status, missing.evidence["status"]) == (
        "endpoints.catalog_unreadable",
        Status.UNKNOWN,
        404,
    )
    assert "does not exist" in missing.summary
    assert (refused.code, refused.evidence["cause"]) == ("endpoints.catalog_unreadable", "polaris.auth_failed")
    assert "s3cr3t" not in str(refused.model_dump())


@pytest.mark.parametrize(
    "kind", ["error", "notjson", "truncated", "auth", "forbidden", "slow", "ok-json", "closed", "tls"]
)
async def test_bad_catalog_answers(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_module, "REQUEST_TIMEOUT_S", 0.3)
    async with bad_server() as base:
        url = {"closed": f"http://127.0.0.1:{closed_port()}", "tls": base.replace("http://", "https://")}.get(
            kind, f"{base}/{kind}"
        )
        async with kube_ctx(None, components=polaris_target(url), platform=platform(), credentials=CREDS) as ctx:
            found = await run_probe(endpoints, ctx)
    [bad] = [f for f in found if f.code == "endpoints.catalog_unreadable"]
    assert (bad.status, bad.component) == (Status.UNKNOWN, "polaris")
    assert bad.evidence["reason"], bad.summary
    # the platform URLs are still judged (no cluster view: resolution only; this machine has no cluster vantage)
    assert where(found)["platform.yaml storage.default.endpoint"].code == "endpoints.unverified"


async def test_no_credentials_is_said() -> None:
    async with kube_ctx(None, components=polaris_target("http://127.0.0.1:1"), platform=platform()) as ctx:
        [bad] = [f for f in await run_probe(endpoints, ctx) if f.code == "endpoints.catalog_unreadable"]
    assert "no Polaris client id/secret" in bad.evidence["reason"]


@pytest.mark.parametrize("kind", ["error", "notjson", "auth", "ok-json", "slow", "closed"])
async def test_bad_kubernetes_api_is_one_finding(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kube_api_module, "REQUEST_TIMEOUT_S", 0.3)
    async with bad_server() as base:
        url = f"http://127.0.0.1:{closed_port()}" if kind == "closed" else f"{base}/{kind}"
        async with kube_ctx(url, platform=platform()) as ctx:
            found = await run_probe(endpoints, ctx)
    [view] = [f for f in found if f.code == "endpoints.no_cluster_view"]
    assert view.status is Status.UNKNOWN
    assert "listing pods" in view.evidence["reason"]
