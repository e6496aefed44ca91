"""cube probe: against the lab, the Cube stand-in with a small Iceberg REST catalog, and bad servers."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import jwt
import pytest
from aiohttp import web

from floe_agents.config.platform import PlatformConfig
from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.probes import cube as cube_module
from floe_agents.probes._cube_tables import split_table
from floe_agents.probes._models.cube import MetaCube
from floe_agents.probes.cube import CODES, _jwt, _source_table, cube
from floe_lab.observability.cube import CubeURLs, run_cube
from tests.support.lab import LabHandle, findings_of, probe_findings
from tests.support.net import bad_server, closed_port, serve
from tests.support.probes import CtxFactory, grouped_by_code, run_probe

SECRET = "cube-secret"
CUBES = [
    {"name": "customer_summary", "sql_table": "gold.customer_summary", "measures": [{"name": "count"}]},
    {"name": "order_analytics", "sql_table": "gold.order_analytics", "measures": [{"name": "count"}]},
]
GOLD = ["gold.customer_summary", "gold.order_analytics"]
PLATFORM = PlatformConfig.model_validate(
    {
        "layers": {"gold": {"namespace": "gold", "catalog_ref": "default"}},
        "catalogs": {"default": {"uri": "http://floe-infra-polaris:8181/api/catalog", "warehouse": "demo_catalog"}},
    }
)
GLUE_ONLY = PlatformConfig.model_validate(
    {
        "layers": {"gold": {"namespace": "gold", "catalog_ref": "default"}},
        "catalogs": {"default": {"type": "glue", "uri": "https://glue.us-east-1.amazonaws.com", "warehouse": "w"}},
    }
)


def by_code(findings: list[Finding]) -> dict[str, list[Finding]]:
    return grouped_by_code(findings, CODES)


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy", "no-telemetry", "seed"], indirect=True)
async def test_lab(lab: LabHandle) -> None:
    """Healthy and meta ok everywhere; the gold marts exist only where the seed job could write them."""
    findings = findings_of(await probe_findings(lab, cube, only="cube"), "cube")
    found = by_code(findings)
    assert {"cube.ready", "cube.live", "cube.meta_ok"} <= set(found), findings
    assert found["cube.meta_ok"][0].evidence["cubes"] == ["customer_summary", "order_analytics"]
    if lab.info["scenario"] == "seed":  # seeding fails (catalog storage endpoint, namespace): no marts
        missing = found["cube.source_table_missing"]
        assert sorted(f.subject for f in missing) == ["gold.customer_summary", "gold.order_analytics"]
        assert all(f.status is Status.WARN and f.evidence["warehouse"] == "demo_catalog" for f in missing)
    else:
        assert found["cube.source_tables_present"][0].evidence["tables"] == GOLD, findings


def catalog_app(
    tables: set[str], namespaces: set[str], warehouse: str = "demo_catalog", token_ok: bool = True
) -> web.Application:
    """The Iceberg REST routes the probe uses, answering like Polaris."""

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        if not token_ok or form.get("client_secret") != "s":
            return web.json_response({"error": "unauthorized_client"}, status=401)
        return web.json_response({"access_token": "t", "token_type": "bearer", "expires_in": 3600})

    def authed(
        handler: Callable[[web.Request], Awaitable[web.Response]],
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def wrapped(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != "Bearer t":
                return web.json_response({"error": {"code": 401}}, status=401)
            return await handler(request)

        return wrapped

    async def config(request: web.Request) -> web.Response:
        if request.query.get("warehouse") != warehouse:
            error = {"message": f"Unable to find warehouse {request.query.get('warehouse')}", "code": 404}
            return web.json_response({"error": error}, status=404)
        return web.json_response({"defaults": {}, "overrides": {"prefix": warehouse}})

    async def head_ns(request: web.Request) -> web.Response:
        return web.Response(status=204 if request.match_info["ns"] in namespaces else 404)

    async def head_table(request: web.Request) -> web.Response:
        return web.Response(status=204 if f"{request.match_info['ns']}.{request.match_info['t']}" in tables else 404)

    app = web.Application()
    app.router.add_post("/api/catalog/v1/oauth/tokens", token)
    app.router.add_get("/api/catalog/v1/config", authed(config))
    app.router.add_route("HEAD", "/api/catalog/v1/{prefix}/namespaces/{ns}", authed(head_ns))
    app.router.add_route("HEAD", "/api/catalog/v1/{prefix}/namespaces/{ns}/tables/{t}", authed(head_table))
    return app


def ctx_for(
    make_ctx: CtxFactory, cube_url: str, polaris_url: str | None = None, *, secret: str | None = SECRET,
    platform: PlatformConfig | None = PLATFORM, polaris_secret: str = "s",
) -> ProbeContext:  # fmt: skip
    base = make_ctx("cube", {"api": {"urls": {"local": cube_url}}})
    components: dict[str, Any] = {"cube": {"endpoints": {"api": {"urls": {"local": cube_url}}}}}
    if polaris_url:
        components["polaris"] = {"endpoints": {"api": {"urls": {"local": polaris_url}}}}
    creds = {"cube_api_secret": secret, "polaris_client_id": "id", "polaris_client_secret": polaris_secret}
    targets = Targets.model_validate(
        {"vantages": {"local": {"resolver": "system"}}, "components": components, "credentials": creds}
    )
    return dataclasses.replace(base, targets=targets, platform=platform)


@pytest.fixture
async def standin() -> AsyncIterator[CubeURLs]:
    async with run_cube(api_secret=SECRET, cubes=CUBES) as urls:
        yield urls


@pytest.mark.parametrize(
    ("tables", "namespaces", "warehouse", "expected"),
    [
        ({"gold.customer_summary", "gold.order_analytics"}, {"gold"}, "demo_catalog", {"cube.source_tables_present"}),
        ({"gold.customer_summary"}, {"gold"}, "demo_catalog", {"cube.source_table_missing"}),
        (set(), set(), "other_catalog", {"cube.source_table_missing"}),
    ],
)
async def test_source_tables(
    make_ctx: CtxFactory, standin: CubeURLs, tables: set[str], namespaces: set[str], warehouse: str, expected: set[str]
) -> None:
    async with serve(catalog_app(tables, namespaces, warehouse)) as polaris:
        found = by_code(await run_probe(cube, ctx_for(make_ctx, standin.api, polaris)))
    assert {"cube.ready", "cube.live", "cube.meta_ok"} | expected == set(found)
    for f in found.get("cube.source_table_missing", []):
        assert f.status is Status.WARN
        if warehouse == "other_catalog":
            assert f.evidence["warehouse_missing"] is True
        else:
            assert (f.subject, f.evidence["namespace_exists"]) == ("gold.order_analytics", True)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"polaris_secret": "wrong"}, "catalog login refused (polaris.auth_failed)"),
        ({"platform": None}, "no platform.yaml"),
        ({"polaris": False}, "no polaris api endpoint"),
        ({"platform": GLUE_ONLY}, "no Polaris/REST catalog"),
    ],
)
async def test_catalog_cannot_be_asked(
    make_ctx: CtxFactory, standin: CubeURLs, kwargs: dict[str, Any], reason: str
) -> None:
    async with serve(catalog_app(set(), set())) as polaris:
        url = None if kwargs.pop("polaris", True) is False else polaris
        found = by_code(await run_probe(cube, ctx_for(make_ctx, standin.api, url, **kwargs)))
    unknown = found["cube.source_unverifiable"]
    assert all(f.status is Status.UNKNOWN for f in unknown)
    assert all(reason in str(f.evidence.get("reason") or f.evidence.get("error")) for f in unknown)


async def test_wrong_or_no_secret(make_ctx: CtxFactory, standin: CubeURLs) -> None:
    wrong = by_code(await run_probe(cube, ctx_for(make_ctx, standin.api, secret="not-the-secret")))
    assert wrong["cube.auth_failed"][0].evidence["body"] == {"error": "Invalid token"}
    none = by_code(await run_probe(cube, ctx_for(make_ctx, standin.api, secret=None)))
    assert set(none) == {"cube.ready", "cube.live", "cube.no_secret"}


async def test_not_ready_and_no_cubes(make_ctx: CtxFactory) -> None:
    async def down() -> bool:
        return False

    async with run_cube(api_secret=SECRET, source_check=down) as urls:
        found = by_code(await run_probe(cube, ctx_for(make_ctx, urls.api)))
    assert found["cube.not_ready"][0].evidence["body"] == {"health": "DOWN"}
    assert set(found) == {"cube.not_ready", "cube.live", "cube.no_cubes"}


def test_token_and_table_names() -> None:
    secret = "a-secret-long-enough-for-hs256-keys!"
    assert jwt.decode(_jwt(secret), secret, algorithms=["HS256"])["sub"] == "floe-agents"

    def source(**meta: str) -> str | None:
        return _source_table(MetaCube.model_validate(meta))

    assert source(sqlTable='"gold"."orders"') == "gold.orders"
    assert source(sql_table="gold.orders") == "gold.orders"
    assert source(sql="SELECT * FROM gold.orders") == "gold.orders"
    assert source(sql="SELECT id FROM gold.orders WHERE x") is None
    assert split_table("demo_catalog.gold.orders", PLATFORM) == ("default", ["gold", "orders"])
    assert split_table("orders", PLATFORM) is None


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("slow", {"cube.unreachable"}),
        ("truncated", {"cube.bad_response"}),
        ("error", {"cube.not_ready", "cube.not_live", "cube.bad_response"}),
        ("notjson", {"cube.not_ready", "cube.not_live", "cube.bad_response"}),
        ("auth", {"cube.not_ready", "cube.not_live", "cube.auth_failed"}),
        ("forbidden", {"cube.not_ready", "cube.not_live", "cube.auth_failed"}),
        ("ok-json", {"cube.ready", "cube.live", "cube.bad_response"}),
    ],
)
async def test_bad_answers(make_ctx: CtxFactory, monkeypatch: pytest.MonkeyPatch, kind: str, codes: set[str]) -> None:
    monkeypatch.setattr(cube_module, "REQUEST_TIMEOUT_S", 0.5)
    async with bad_server() as base:
        start = time.monotonic()
        found = await run_probe(cube, ctx_for(make_ctx, f"{base}/{kind}"))
    assert time.monotonic() - start < 2
    assert {f.code for f in found} == codes
    assert all(f.evidence.get("reason") or f.status is Status.OK for f in found)


@pytest.mark.parametrize("scheme", ["closed", "https"])
async def test_unreachable(make_ctx: CtxFactory, scheme: str) -> None:
    async with bad_server() as base:
        url = f"http://127.0.0.1:{closed_port()}" if scheme == "closed" else base.replace("http://", "https://")
        [finding] = await run_probe(cube, ctx_for(make_ctx, url))
    assert (finding.code, finding.evidence["reason"]) == (
        "cube.unreachable",
        "refused" if scheme == "closed" else "tls",
    )
