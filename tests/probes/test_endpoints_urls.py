"""Malformed and misdirected URLs, wherever they are written (platform.yaml, pod env, the catalog's storage
config): no scheme, an empty host, a path the receiving API does not serve. Each is a failure on the component
that uses the URL, naming where it is written, what is wrong, and the URL meant."""

from __future__ import annotations

from typing import Any

import pytest

from floe_agents.config.platform import PlatformConfig
from floe_agents.findings import Finding
from floe_agents.probes._urls import malformed, path_served, suggest
from floe_agents.probes.endpoints import endpoints
from tests.probes.test_endpoints import CREDS, RUNNING, fake_polaris, polaris_target, service, where
from tests.support.kube import fake_apiserver, kube_ctx, pod
from tests.support.probes import run_probe


@pytest.mark.parametrize(
    ("value", "why", "meant"),
    [
        ("//floe-infra-polaris:8181/api/catalog", "it has no scheme (it starts with //)",
         "http://floe-infra-polaris:8181/api/catalog"),
        ("floe-infra-localstack:4566", "it has no scheme (no http:// or similar in front)",
         "http://floe-infra-localstack:4566"),
        ("s3.example:443", "it has no scheme (no http:// or similar in front)", "https://s3.example:443"),
        ("http://:8181/api", "its host is empty", None),
        ("http://polaris:99999", "its port 99999 is out of range", None),
        ("http://polaris:8181:x", "it cannot be parsed (Invalid port: '8181:x')", None),
        ("http://polaris :8181", "it contains whitespace", None),
        ("", "it is empty", None),
        ("http://floe-infra-polaris:8181/api/catalog", None, None),
    ],
)  # fmt: skip
def test_what_makes_a_url_unusable_and_what_was_meant(value: str, why: str | None, meant: str | None) -> None:
    assert malformed(value) == why
    assert suggest(value) == meant


def test_a_path_is_served_under_a_prefix_or_as_a_base_url() -> None:
    serves = ("/api/catalog", "/q/")
    assert all(path_served(p, serves) for p in ("", "/", "/api/catalog", "/api/catalog/v1/config", "/q/health", "/q"))
    assert not any(path_served(p, serves) for p in ("/catalog", "/api/catalogue", "/api", "/v1/lineage"))
    assert path_served("/anything", ())  # an API that serves any path (S3's buckets) is never wrong


OBJECTS: dict[str, Any] = {
    "services": [
        service("floe-infra-polaris", "polaris", 8181, 8182),
        service("floe-infra-marquez", "marquez", 5000),
        service("floe-infra-jaeger-collector", "jaeger", 4317, 4318),
    ],
    "pods": [
        pod("floe-dagster-user-1", "user-deployments", RUNNING, env=[
            {"name": "POLARIS_URI", "value": "//floe-infra-polaris:8181/api/catalog"},
            {"name": "POLARIS_MANAGEMENT_URI", "value": "http://floe-infra-polaris:8181/management/v1"},
            {"name": "OPENLINEAGE_URL", "value": "http://floe-infra-marquez:5000"},
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "floe-infra-jaeger-collector:4317"},  # gRPC: bare is fine
            {"name": "STORAGE_ENDPOINT", "value": "http://:4566"},
        ]),
    ],
}  # fmt: skip


async def judged(plat: PlatformConfig) -> dict[str, Finding]:
    """The endpoints probe's findings by where the URL is written: the cluster above, and a catalog whose storage
    endpoint has no scheme."""
    catalog = {"name": "demo_catalog", "storageConfigInfo": {"storageType": "S3", "endpoint": "localstack:4566"}}
    async with (
        fake_apiserver(OBJECTS) as api,
        fake_polaris({"demo_catalog": catalog}) as polaris,
        kube_ctx(api, components=polaris_target(polaris), platform=plat, credentials=CREDS) as ctx,
    ):
        return where(await run_probe(endpoints, ctx))


async def test_malformed_and_misdirected_urls_are_failures_on_their_user() -> None:
    plat = PlatformConfig.model_validate({
        "storage": {"default": {"type": "s3", "endpoint": "http://floe-infra-localstack:4566", "bucket": "b"}},
        "catalogs": {"default": {"uri": "http://floe-infra-polaris:8181/catalog", "warehouse": "demo_catalog"}},
        "observability": {"lineage_endpoint": "//floe-infra-marquez:5000/api/v1/lineage"},
    })  # fmt: skip
    at = await judged(plat)
    got = {w: (str(f.code), f.component, f.evidence.get("suggested")) for w, f in at.items()
           if f.code in ("endpoints.url_malformed", "endpoints.path_not_served")}  # fmt: skip
    pod_env = "pod floe-dagster-user-1 env"
    assert got == {
        f"{pod_env} POLARIS_URI": ("endpoints.url_malformed", "dagster-user-code",
                                   "http://floe-infra-polaris:8181/api/catalog"),
        f"{pod_env} STORAGE_ENDPOINT": ("endpoints.url_malformed", "dagster-user-code",
                                        "<scheme>://<host>:<port>/<path>"),
        f"{pod_env} POLARIS_MANAGEMENT_URI": ("endpoints.path_not_served", "dagster-user-code",
                                              "http://floe-infra-polaris:8181/api/catalog"),
        "platform.yaml catalogs.default.uri": ("endpoints.path_not_served", "polaris",
                                               "http://floe-infra-polaris:8181/api/catalog"),
        "platform.yaml observability.lineage_endpoint": ("endpoints.url_malformed", "marquez",
                                                         "http://floe-infra-marquez:5000/api/v1/lineage"),
    }  # fmt: skip
    # the catalog's own URL is wrong, so its storage config cannot be read with it: said, not guessed
    assert at["catalog storage config"].code == "endpoints.catalog_unreadable"
    assert at[f"{pod_env} OPENLINEAGE_URL"].code == "endpoints.ok"
    assert f"{pod_env} OTEL_EXPORTER_OTLP_ENDPOINT" not in at  # a bare host:port is what the gRPC exporter takes
    wrong_path = at["platform.yaml catalogs.default.uri"]
    assert wrong_path.evidence["served_paths"] == ["/api/catalog", "/api/management/v1", "/q/"]
    assert "serves /api/catalog, /api/management/v1, /q/, not /catalog" in wrong_path.summary


async def test_the_catalogs_storage_endpoint_without_a_scheme_is_malformed() -> None:
    plat = PlatformConfig.model_validate(
        {"catalogs": {"default": {"uri": "http://floe-infra-polaris:8181/api/catalog", "warehouse": "demo_catalog"}}}
    )
    at = await judged(plat)
    bad = at["catalog demo_catalog storageConfigInfo.endpoint"]
    assert (bad.code, bad.component, bad.evidence["suggested"]) == (
        "endpoints.url_malformed", "polaris", "http://localstack:4566")  # fmt: skip
    assert at["platform.yaml catalogs.default.uri"].code == "endpoints.ok"
