"""The Jaeger stand-in, fed by the real OpenTelemetry SDK + OTLP exporters and read through Jaeger's query API.

These pin what floe-agents relies on: a service that exported spans shows up in ``/api/services`` next to
``jaeger-all-in-one``, its traces come back in Jaeger's JSON shape with parent references intact, both OTLP
transports (gRPC and HTTP/protobuf, plus OTLP/JSON) land in the same store, and errors use Jaeger's envelope.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from floe_lab.observability.jaeger import JaegerURLs, run_jaeger
from floe_lab.observability.jaeger_model import otlp_json_to_request
from tests.support.processes import exit_code_on_sigterm, observability_process

SERVICE = "floe-k8s-local"


@pytest.fixture
async def jaeger() -> AsyncIterator[JaegerURLs]:
    tasks_before = asyncio.all_tasks()
    threads_before = {t.ident for t in threading.enumerate()}
    async with run_jaeger(admin_port=0) as urls:
        yield urls
    await asyncio.sleep(0)
    leaked = [
        t for t in asyncio.all_tasks() - tasks_before if t is not asyncio.current_task() and not _is_pytest_runner(t)
    ]
    assert not leaked, f"stand-in left tasks running: {leaked}"
    new_threads = [
        t.name
        for t in threading.enumerate()
        if t.ident not in threads_before and "AnyIO worker" not in t.name and t.is_alive()
    ]
    assert not new_threads, f"threads left behind: {new_threads}"


def _is_pytest_runner(task: asyncio.Task[Any]) -> bool:
    return "TestRunner" in getattr(task.get_coro(), "__qualname__", "")


def _emit(exporter: SpanExporter, service: str = SERVICE) -> None:
    """What an instrumented Floe asset does: a parent span with a failing child, exported in a batch."""
    provider = TracerProvider(resource=Resource.create({"service.name": service, "deployment.environment": "lab"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("floe.assets", "1.2.3")
    with tracer.start_as_current_span("materialize bronze_customers", kind=SpanKind.SERVER) as parent:
        parent.set_attribute("floe.layer", "bronze")
        with tracer.start_as_current_span("polaris.load_table", kind=SpanKind.CLIENT) as child:
            child.set_attribute("rows", 42)
            child.add_event("retry", {"attempt": 2})
            child.set_status(Status(StatusCode.ERROR, "NoSuchNamespace"))
    provider.shutdown()  # flushes the batch through the real exporter, then stops its thread


async def _get(url: str, **params: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(url, params=params)


def _check_trace(trace: dict[str, Any]) -> None:
    spans = {s["operationName"]: s for s in trace["spans"]}
    assert set(spans) == {"materialize bronze_customers", "polaris.load_table"}
    parent, child = spans["materialize bronze_customers"], spans["polaris.load_table"]
    assert parent["references"] == []
    assert child["references"] == [{"refType": "CHILD_OF", "traceID": trace["traceID"], "spanID": parent["spanID"]}]
    assert len(trace["traceID"]) == 32
    assert len(parent["spanID"]) == 16
    now_us = time.time() * 1_000_000
    assert now_us - 60_000_000 < parent["startTime"] <= now_us
    assert parent["duration"] >= child["duration"]
    process = trace["processes"][child["processID"]]
    assert process["serviceName"] == SERVICE
    assert {"key": "deployment.environment", "type": "string", "value": "lab"} in process["tags"]
    tags = {t["key"]: t["value"] for t in child["tags"]}
    assert tags["span.kind"] == "client"
    assert tags["rows"] == 42
    assert tags["error"] is True
    assert tags["otel.status_description"] == "NoSuchNamespace"
    assert tags["otel.scope.name"] == "floe.assets"
    assert child["logs"][0]["fields"][0] == {"key": "event", "type": "string", "value": "retry"}


async def test_grpc_export_shows_service_and_trace(jaeger: JaegerURLs) -> None:
    assert jaeger.otlp_grpc is not None
    await anyio.to_thread.run_sync(_emit, GrpcSpanExporter(endpoint=jaeger.otlp_grpc, insecure=True))

    services = (await _get(f"{jaeger.query}/api/services")).json()
    assert SERVICE in services["data"]
    assert "jaeger-all-in-one" in services["data"]
    assert services["total"] == len(services["data"])
    assert services["errors"] is None

    reply = await _get(f"{jaeger.query}/api/traces", service=SERVICE, limit="20", lookback="1h")
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {"data", "total", "limit", "offset", "errors"}
    assert body["errors"] is None
    assert len(body["data"]) == 1
    _check_trace(body["data"][0])

    ops = (await _get(f"{jaeger.query}/api/services/{SERVICE}/operations")).json()
    assert ops["data"] == ["materialize bronze_customers", "polaris.load_table"]
    one = (await _get(f"{jaeger.query}/api/traces/{body['data'][0]['traceID']}")).json()
    assert one["data"][0]["traceID"] == body["data"][0]["traceID"]


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
async def test_http_protobuf_export(jaeger: JaegerURLs, compression: Compression) -> None:
    exporter = HttpSpanExporter(endpoint=jaeger.otlp_http_traces, compression=compression)
    await anyio.to_thread.run_sync(_emit, exporter)
    body = (await _get(f"{jaeger.query}/api/traces", service=SERVICE)).json()
    assert len(body["data"]) == 1
    _check_trace(body["data"][0])


async def test_otlp_json_and_search_filters(jaeger: JaegerURLs) -> None:
    start = time.time_ns()
    span = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "name": "dbt run silver",
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 5_000_000),
        "attributes": [{"key": "dbt.model", "value": {"stringValue": "silver.orders"}}],
    }
    payload = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "floe-dbt"}}]},
                "scopeSpans": [{"scope": {"name": "dbt"}, "spans": [span]}],
            }
        ]
    }
    async with httpx.AsyncClient(timeout=5) as client:
        ok = await client.post(jaeger.otlp_http_traces, json=payload)
        assert ok.status_code == 200
        assert ok.headers["content-type"].startswith("application/json")
        bad = await client.post(
            jaeger.otlp_http_traces, content=b"{not json", headers={"content-type": "application/json"}
        )
        assert bad.status_code == 400
        wrong = await client.post(jaeger.otlp_http_traces, content=b"x", headers={"content-type": "text/plain"})
        assert wrong.status_code == 415
    trace = (await _get(f"{jaeger.query}/api/traces/0af7651916cd43dd8448eb211c80319c")).json()["data"][0]
    assert trace["spans"][0]["duration"] == 5000
    assert trace["spans"][0]["spanID"] == "b7ad6b7169203331"
    assert trace["spans"][0]["flags"] == 1
    hit = await _get(f"{jaeger.query}/api/traces", service="floe-dbt", tags=json.dumps({"dbt.model": "silver.orders"}))
    miss = await _get(f"{jaeger.query}/api/traces", service="floe-dbt", minDuration="1s")
    assert len(hit.json()["data"]) == 1
    assert miss.json()["data"] == []
    by_id = await _get(f"{jaeger.query}/api/traces", traceID="0af7651916cd43dd8448eb211c80319c")
    assert [t["traceID"] for t in by_id.json()["data"]] == ["0af7651916cd43dd8448eb211c80319c"]
    old = await _get(f"{jaeger.query}/api/traces", service="floe-dbt", end=str(start // 1000 - 1))
    assert old.json()["data"] == []


async def test_errors_use_jaegers_envelope(jaeger: JaegerURLs) -> None:
    missing = await _get(f"{jaeger.query}/api/traces", limit="20")
    assert missing.status_code == 400
    assert missing.json() == {
        "data": None,
        "total": 0,
        "limit": 0,
        "offset": 0,
        "errors": [{"code": 400, "msg": "parameter 'service' is required"}],
    }
    unknown = await _get(f"{jaeger.query}/api/traces", service="floe-demo")
    assert unknown.status_code == 200
    assert unknown.json()["data"] == []
    absent = await _get(f"{jaeger.query}/api/traces/{'ab' * 16}")
    assert absent.status_code == 404
    assert absent.json()["errors"] == [{"code": 404, "msg": "trace not found"}]
    bad_limit = await _get(f"{jaeger.query}/api/traces", service=SERVICE, limit="many")
    assert bad_limit.status_code == 400
    assert jaeger.admin is not None
    health = (await _get(f"{jaeger.admin}/")).json()
    assert health["status"] == "Server available"


async def test_fresh_jaeger_lists_only_itself(jaeger: JaegerURLs) -> None:
    body = (await _get(f"{jaeger.query}/api/services")).json()
    assert body["data"] == ["jaeger-all-in-one"]
    assert body["total"] == 1
    own = (await _get(f"{jaeger.query}/api/traces", service="jaeger-all-in-one")).json()
    assert own["data"]
    assert own["data"][0]["spans"][0]["operationName"] == "/api/services"


async def test_state_file_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "jaeger.json"
    async with run_jaeger(state_file=str(state), otlp_grpc_port=None) as first:
        await anyio.to_thread.run_sync(_emit, HttpSpanExporter(endpoint=first.otlp_http_traces))
    async with run_jaeger(state_file=str(state), otlp_grpc_port=None) as second:
        body = (await _get(f"{second.query}/api/traces", service=SERVICE)).json()
        assert len(body["data"]) == 1
        _check_trace(body["data"][0])


async def test_process_entry_prints_ready(tmp_path: Path) -> None:
    with observability_process("jaeger", "--state", str(tmp_path / "s.json")) as (proc, words):
        assert words[0] == "READY"
        assert words[1].startswith("http://127.0.0.1:")
        extras = dict(w.split("=", 1) for w in words[2:])
        exporter = GrpcSpanExporter(endpoint=extras["otlp_grpc"], insecure=True)
        await anyio.to_thread.run_sync(_emit, exporter)
        body = (await _get(f"{words[1]}/api/services")).json()
        assert SERVICE in body["data"]
        assert await exit_code_on_sigterm(proc) == 0


def test_otlp_json_ids_are_hex_not_base64() -> None:
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "01" * 16, "spanId": "02" * 8}]}]}]}
    request = otlp_json_to_request(json.dumps(doc).encode())
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id == bytes([1] * 16)
    assert base64.b64encode(span.span_id) == base64.b64encode(bytes([2] * 8))
    bad = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}
    with pytest.raises(ValueError, match="non-hexadecimal"):
        otlp_json_to_request(json.dumps(bad).encode())
