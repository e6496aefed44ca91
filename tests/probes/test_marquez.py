"""marquez probe: against the lab (lineage flowing vs. silent), the Marquez stand-in, and bad servers."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from floe_agents.config.platform import PlatformConfig
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.probes import marquez as marquez_module
from floe_agents.probes.marquez import CODES, marquez
from floe_lab.observability.marquez import MarquezURLs, run_marquez
from tests.support.lab import LabHandle, findings_of, probe_findings
from tests.support.net import bad_server, closed_port
from tests.support.probes import CtxFactory, bad_answers, finding_from_bad_server, finding_per_code, run_probe

NS = "floe-demo"


def platform(
    lineage_endpoint: str | None = "http://floe-infra-marquez:5000/api/v1/lineage", **extra: object
) -> PlatformConfig:
    return PlatformConfig.model_validate({"observability": {"lineage_endpoint": lineage_endpoint, **extra}})


def by_code(findings: list[Finding]) -> dict[str, Finding]:
    return finding_per_code(findings, CODES)


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy", "no-telemetry", "seed"], indirect=True)
async def test_lab(lab: LabHandle) -> None:
    found = by_code(findings_of(await probe_findings(lab, marquez, only="marquez"), "marquez"))
    assert found["marquez.api_ok"].status is Status.OK
    assert found["marquez.lineage_path_ok"].evidence["status_code"] == 422
    if lab.info["scenario"] == "healthy":
        present = found["marquez.jobs_present"]
        assert present.subject == NS
        assert present.evidence["job_count"] > 0
        assert set(present.evidence["latest_run_states"].values()) <= {"COMPLETED", "FAILED", "RUNNING"}
    else:
        missing = found["marquez.no_jobs"]
        assert (missing.status, missing.subject) == (Status.FAIL, NS)
        assert missing.evidence["namespace_exists"] is False
        assert missing.evidence["namespaces_with_jobs"] == {}


@pytest.fixture
async def standin() -> AsyncIterator[MarquezURLs]:
    async with run_marquez(admin_port=None) as urls:
        yield urls


async def post_run(urls: MarquezURLs, namespace: str, job: str) -> None:
    event = {
        "eventType": "COMPLETE",
        "eventTime": datetime.now(UTC).isoformat(),
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": namespace, "name": job},
        "inputs": [{"namespace": "iceberg", "name": "demo.raw_orders"}],
        "outputs": [],
        "producer": "https://example.com/test",
    }
    async with httpx.AsyncClient() as client:
        assert (await client.post(urls.lineage, json=event)).status_code == 201


def standin_ctx(make_ctx: CtxFactory, urls: MarquezURLs, config: PlatformConfig | None) -> ProbeContext:
    return dataclasses.replace(make_ctx("marquez", {"api": {"urls": {"local": urls.api}}}), platform=config)


async def test_jobs_present_and_namespace_from_platform(make_ctx: CtxFactory, standin: MarquezURLs) -> None:
    await post_run(standin, "analytics", "orders")
    config = platform(attributes={"openlineage.namespace": "analytics"})
    found = by_code(await run_probe(marquez, standin_ctx(make_ctx, standin, config)))
    present = found["marquez.jobs_present"]
    assert (present.subject, present.evidence["job_count"], present.evidence["jobs"]) == ("analytics", 1, ["orders"])
    assert present.evidence["latest_run_states"] == {"orders": "COMPLETED"}
    assert present.evidence["job_datasets"] == ["iceberg:demo.raw_orders"]


async def test_lineage_under_another_namespace(make_ctx: CtxFactory, standin: MarquezURLs) -> None:
    await post_run(standin, "default", "orders")
    config = platform(attributes={"openlineage.namespace": NS})
    found = by_code(await run_probe(marquez, standin_ctx(make_ctx, standin, config)))
    missing = found["marquez.namespace_missing"]
    assert (missing.status, missing.subject) == (Status.FAIL, NS)
    assert missing.evidence["namespaces_with_jobs"] == {"default": 1}


async def test_namespace_without_jobs(make_ctx: CtxFactory, standin: MarquezURLs) -> None:
    """Without a platform.yaml (or a cluster) nothing says which namespace is the pipeline's: no job under any
    namespace is only a warning, and no name is guessed for it."""
    standin.state._namespace(NS, "2026-01-01T00:00:00Z")
    found = by_code(await run_probe(marquez, standin_ctx(make_ctx, standin, None)))
    none = found["marquez.no_jobs"]
    assert (none.status, none.subject, none.evidence["namespace"], none.evidence["namespaces_with_jobs"]) == (
        Status.WARN, "*", None, {})  # fmt: skip
    assert "marquez.lineage_path_ok" not in found


async def test_with_no_word_on_the_namespace_lineage_under_any_is_the_pipelines(
    make_ctx: CtxFactory, standin: MarquezURLs
) -> None:
    """A stack deployed under another name, read without its cluster (the API refused the token): its lineage under
    acme-demo is not "under another namespace than floe-demo" (a name nothing said)."""
    await post_run(standin, "acme-demo", "orders")
    found = by_code(await run_probe(marquez, standin_ctx(make_ctx, standin, platform())))
    present = found["marquez.jobs_present"]
    assert (present.status, present.evidence["namespaces_with_jobs"]) == (Status.OK, {"acme-demo": 1})
    assert "marquez.namespace_missing" not in found


@pytest.mark.parametrize(
    ("endpoint", "code", "status_code"),
    [
        ("http://floe-infra-marquez:5000/api/v1/lineage", "marquez.lineage_path_ok", 422),
        ("http://floe-infra-marquez:5000/api/v1/lineage/", "marquez.lineage_path_ok", 422),
        ("http://floe-infra-marquez:5000/lineage", "marquez.lineage_path_wrong", 404),
        ("http://floe-infra-marquez:5000/api/v1/lineage/api/v1/lineage", "marquez.lineage_path_wrong", 404),
        ("http://floe-infra-marquez:5000", "marquez.lineage_path_wrong", 404),
    ],
)
async def test_lineage_path(
    make_ctx: CtxFactory, standin: MarquezURLs, endpoint: str, code: str, status_code: int
) -> None:
    found = by_code(await run_probe(marquez, standin_ctx(make_ctx, standin, platform(endpoint))))
    assert (found[code].evidence["status_code"], found[code].evidence["lineage_endpoint"]) == (status_code, endpoint)
    assert standin.state.events == []  # the check never writes an event


@pytest.mark.parametrize(
    ("config", "code", "status"),
    [
        (platform(lineage=False), "marquez.lineage_disabled", Status.OK),
        (platform(None), "marquez.lineage_not_configured", Status.WARN),
    ],
)
async def test_platform_lineage_settings(
    make_ctx: CtxFactory, standin: MarquezURLs, config: PlatformConfig, code: str, status: Status
) -> None:
    found = by_code(await run_probe(marquez, standin_ctx(make_ctx, standin, config)))
    assert found[code].status is status


@pytest.mark.parametrize(("kind", "code", "reason"), bad_answers("marquez", "no_namespaces_field"))
async def test_bad_answers(
    make_ctx: CtxFactory, monkeypatch: pytest.MonkeyPatch, kind: str, code: str, reason: str
) -> None:
    monkeypatch.setattr(marquez_module, "REQUEST_TIMEOUT_S", 0.5)
    finding = await finding_from_bad_server(make_ctx, marquez, kind, "api", platform())
    assert (finding.code, finding.status, finding.evidence["reason"]) == (code, Status.FAIL, reason)


@pytest.mark.parametrize("scheme", ["closed", "https"])
async def test_unreachable(make_ctx: CtxFactory, scheme: str) -> None:
    async with bad_server() as base:
        url = f"http://127.0.0.1:{closed_port()}" if scheme == "closed" else base.replace("http://", "https://")
        [finding] = await run_probe(marquez, make_ctx("marquez", {"api": {"urls": {"local": url}}}))
    assert (finding.code, finding.evidence["reason"]) == (
        "marquez.unreachable",
        "refused" if scheme == "closed" else "tls",
    )
