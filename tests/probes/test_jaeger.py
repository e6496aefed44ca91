"""jaeger probe: against the lab (traces flowing vs. silent emitters), the Jaeger stand-in, and bad servers."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import anyio
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from floe_agents.config.platform import PlatformConfig
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.probes import jaeger as jaeger_module
from floe_agents.probes.jaeger import CODES, jaeger
from floe_lab.observability.jaeger import JaegerURLs, run_jaeger
from tests.support.lab import LabHandle, findings_of, probe_findings
from tests.support.net import bad_server, closed_port
from tests.support.probes import CtxFactory, bad_answers, finding_from_bad_server, finding_per_code, run_probe

SERVICE = "floe-k8s-local"


def platform(service: str | None = SERVICE, traces: bool = True) -> PlatformConfig:
    attributes = {"service.name": service} if service else {}
    return PlatformConfig.model_validate(
        {"observability": {"traces": traces, "otlp_endpoint": "http://collector:4317", "attributes": attributes}}
    )


def by_code(findings: list[Finding]) -> dict[str, Finding]:
    return finding_per_code(findings, CODES)


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy", "no-telemetry", "seed"], indirect=True)
async def test_lab(lab: LabHandle) -> None:
    found = by_code(findings_of(await probe_findings(lab, jaeger, only="jaeger"), "jaeger"))
    assert found["jaeger.query_ok"].status is Status.OK
    assert found["jaeger.otlp_reachable"].evidence["grpc_export"] == "OK"
    if lab.info["scenario"] == "healthy":
        present = found["jaeger.traces_present"]
        assert present.subject == SERVICE
        assert present.evidence["last_trace_age_s"] < 3600
        assert "jaeger.expected_service_missing" not in found
    else:
        missing = found["jaeger.expected_service_missing"]
        assert missing.status is Status.FAIL
        assert missing.subject == SERVICE
        assert missing.evidence["services_seen"] == ["jaeger-all-in-one"]
        assert missing.evidence["only_jaeger_self"] is True
        assert missing.evidence["configured_otlp_endpoint"] == "http://floe-infra-jaeger-collector:4317"


@pytest.fixture
async def standin() -> AsyncIterator[JaegerURLs]:
    async with run_jaeger() as urls:
        yield urls


def emit(endpoint: str, service: str, age_s: float = 0.0) -> None:
    """Export one span as ``service`` over OTLP/gRPC, started ``age_s`` ago."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    start = time.time_ns() - int(age_s * 1e9)
    provider.get_tracer("test").start_span("asset", start_time=start).end(end_time=start + 1_000_000)
    provider.shutdown()


def standin_ctx(make_ctx: CtxFactory, urls: JaegerURLs, config: PlatformConfig | None) -> ProbeContext:
    assert urls.otlp_grpc is not None
    grpc_url = urls.otlp_grpc.replace("http://", "grpc://")
    ctx = make_ctx("jaeger", {"query": {"urls": {"local": urls.query}}, "otlp-grpc": {"urls": {"local": grpc_url}}})
    return dataclasses.replace(ctx, platform=config)


async def test_traces_under_another_name_are_a_warning_naming_both(make_ctx: CtxFactory, standin: JaegerURLs) -> None:
    """upstream's validate-script bug in reverse: spans arrive as 'floe-demo', the platform says floe-k8s-local.
    Something is emitting, so it is not silence: a warning names what arrives and what platform.yaml expects."""
    assert standin.otlp_grpc is not None
    await anyio.to_thread.run_sync(emit, standin.otlp_grpc, "floe-demo")
    found = by_code(await run_probe(jaeger, standin_ctx(make_ctx, standin, platform())))
    assert "jaeger.expected_service_missing" not in found
    renamed = found["jaeger.service_name_mismatch"]
    assert (renamed.status, renamed.subject) == (Status.WARN, SERVICE)
    assert renamed.evidence["arriving"] == "floe-demo" and renamed.evidence["configured_service"] == SERVICE
    assert "floe-demo" in renamed.summary and SERVICE in renamed.summary
    present = by_code(await run_probe(jaeger, standin_ctx(make_ctx, standin, platform("floe-demo"))))
    assert present["jaeger.traces_present"].subject == "floe-demo"


async def test_floe_agents_own_traces_are_not_the_platforms(make_ctx: CtxFactory, standin: JaegerURLs) -> None:
    """A traced floe-agents run lands in the platform's Jaeger as 'floe-agents': the emitters are still silent,
    not sending under another name (the next run must not blame a rename for the silence)."""
    assert standin.otlp_grpc is not None
    await anyio.to_thread.run_sync(emit, standin.otlp_grpc, "floe-agents")
    found = by_code(await run_probe(jaeger, standin_ctx(make_ctx, standin, platform())))
    assert "jaeger.service_name_mismatch" not in found
    assert found["jaeger.expected_service_missing"].status is Status.FAIL


async def test_known_service_without_recent_traces_warns(make_ctx: CtxFactory, standin: JaegerURLs) -> None:
    await anyio.to_thread.run_sync(emit, standin.otlp_grpc or "", SERVICE, 3 * 3600)
    found = by_code(await run_probe(jaeger, standin_ctx(make_ctx, standin, platform())))
    stale = found["jaeger.no_recent_traces"]
    assert (stale.status, stale.subject, stale.evidence["window_s"]) == (Status.WARN, SERVICE, 3600)


@pytest.mark.parametrize(
    ("config", "code", "status"),
    [
        (None, "jaeger.service_unknown", Status.UNKNOWN),
        (platform(service=None), "jaeger.service_unknown", Status.UNKNOWN),
        (platform(traces=False), "jaeger.traces_disabled", Status.OK),
    ],
)
async def test_nothing_to_expect(
    make_ctx: CtxFactory, standin: JaegerURLs, config: PlatformConfig | None, code: str, status: Status
) -> None:
    found = by_code(await run_probe(jaeger, standin_ctx(make_ctx, standin, config)))
    assert found[code].status is status
    assert "jaeger.expected_service_missing" not in found


@pytest.mark.parametrize(("kind", "code", "reason"), bad_answers("jaeger", "not_jaeger_envelope"))
async def test_bad_query_answers(
    make_ctx: CtxFactory, monkeypatch: pytest.MonkeyPatch, kind: str, code: str, reason: str
) -> None:
    monkeypatch.setattr(jaeger_module, "REQUEST_TIMEOUT_S", 0.5)
    finding = await finding_from_bad_server(make_ctx, jaeger, kind, "query", platform())
    assert (finding.code, finding.status, finding.evidence["reason"]) == (code, Status.FAIL, reason)


async def test_closed_port_and_tls_mismatch(make_ctx: CtxFactory) -> None:
    port = closed_port()
    async with bad_server() as base:
        https = base.replace("http://", "https://")
        urls = {"query": {"urls": {"local": https}}, "otlp-grpc": {"urls": {"local": f"grpc://127.0.0.1:{port}"}}}
        found = await run_probe(jaeger, make_ctx("jaeger", urls))
    assert {(f.code, f.status) for f in found} == {("jaeger.unreachable", Status.FAIL)}
    assert {f.evidence["reason"] for f in found} == {"tls", "refused"}


async def test_otlp_port_that_is_not_otlp(make_ctx: CtxFactory) -> None:
    async with bad_server() as base:
        grpc_url = base.replace("http://", "grpc://")
        [finding] = await run_probe(jaeger, make_ctx("jaeger", {"otlp-grpc": {"urls": {"local": grpc_url}}}))
    assert (finding.code, finding.status) == ("jaeger.otlp_rejected", Status.FAIL)
    assert finding.evidence["grpc_export"] != "OK"


async def test_black_holed_endpoints_cost_one_timeout(
    make_ctx: CtxFactory, black_holed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jaeger_module, "REQUEST_TIMEOUT_S", 0.3)
    url = f"127.0.0.1:{black_holed_port}"
    ctx = make_ctx(
        "jaeger", {"query": {"urls": {"local": f"http://{url}"}}, "otlp-grpc": {"urls": {"local": f"grpc://{url}"}}}
    )
    start = time.monotonic()
    found = await run_probe(jaeger, ctx)
    assert time.monotonic() - start < 1.0
    assert {(f.code, f.evidence["reason"]) for f in found} == {("jaeger.unreachable", "timeout")}
    assert len(found) == 2
