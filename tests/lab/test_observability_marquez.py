"""The Marquez stand-in, fed by the real ``openlineage-python`` client and read through Marquez's REST API.

What floe-agents relies on: after a START/COMPLETE pair the job's namespace, the job (with inputs/outputs and a
latest COMPLETED run), its datasets and the lineage graph all appear; a client pointed at the wrong path gets
Marquez's 404 (Floe's config hands out ``.../api/v1/lineage`` as the URL, which the client extends again);
malformed events are refused with Marquez's status codes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import documentation_job, schema_dataset
from openlineage.client.transport.http import HttpConfig, HttpTransport
from openlineage.client.uuid import generate_new_uuid

from floe_lab.observability.marquez import MarquezURLs, run_marquez
from tests.support.processes import exit_code_on_sigterm, observability_process

NS = "floe-demo"
PRODUCER = "https://github.com/Obsidian-Owl/floe-runtime"


@pytest.fixture
async def marquez() -> AsyncIterator[MarquezURLs]:
    tasks_before = asyncio.all_tasks()
    threads_before = {t.ident for t in threading.enumerate()}
    async with run_marquez() as urls:
        yield urls
    await asyncio.sleep(0)
    leaked = [
        t
        for t in asyncio.all_tasks() - tasks_before
        if t is not asyncio.current_task() and "TestRunner" not in getattr(t.get_coro(), "__qualname__", "")
    ]
    assert not leaked, f"stand-in left tasks running: {leaked}"
    extra = [t.name for t in threading.enumerate() if t.ident not in threads_before and "AnyIO" not in t.name]
    assert not extra, f"threads left behind: {extra}"


def _client(url: str, endpoint: str = "api/v1/lineage") -> OpenLineageClient:
    return OpenLineageClient(transport=HttpTransport(HttpConfig(url=url, endpoint=endpoint, timeout=5)))


def _run_pair(url: str, *, job: str = "bronze_customers", end: RunState = RunState.COMPLETE) -> str:
    """What a lineage-instrumented Floe asset emits: START, then COMPLETE (or FAIL), with its datasets."""
    run_id = str(generate_new_uuid())
    started = datetime.now(UTC) - timedelta(seconds=3)
    schema = schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name="customer_id", type="BIGINT"),
            schema_dataset.SchemaDatasetFacetFields(name="email", type="STRING"),
        ]
    )
    inputs = [InputDataset(namespace="s3://iceberg-bronze", name="demo.raw_customers")]
    outputs = [OutputDataset(namespace="polaris://demo_catalog", name="bronze.customers", facets={"schema": schema})]
    doc = documentation_job.DocumentationJobFacet(description="Loads raw customers into bronze")
    client = _client(url)
    try:
        for state, when in ((RunState.START, started), (end, started + timedelta(seconds=2))):
            client.emit(
                RunEvent(
                    eventType=state,
                    eventTime=when.isoformat(),
                    run=Run(runId=run_id),
                    job=Job(namespace=NS, name=job, facets={"documentation": doc}),
                    producer=PRODUCER,
                    inputs=inputs,
                    outputs=outputs,
                )
            )
    finally:
        client.close()
    return run_id


async def _get(url: str, **params: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(url, params=params)


async def test_fresh_marquez_has_only_default_namespace(marquez: MarquezURLs) -> None:
    body = (await _get(f"{marquez.api}/api/v1/namespaces")).json()
    assert [n["name"] for n in body["namespaces"]] == ["default"]
    default = body["namespaces"][0]
    assert set(default) == {"name", "createdAt", "updatedAt", "ownerName", "description", "isHidden"}
    assert default["ownerName"] == "anonymous"
    assert default["isHidden"] is False
    missing = await _get(f"{marquez.api}/api/v1/namespaces/{NS}/jobs")
    assert missing.status_code == 404
    assert missing.json() == {"code": 404, "message": f"Namespace '{NS}' not found."}


async def test_openlineage_client_run_is_derived_like_marquez(marquez: MarquezURLs) -> None:
    run_id = await anyio.to_thread.run_sync(_run_pair, marquez.api)

    names = [n["name"] for n in (await _get(f"{marquez.api}/api/v1/namespaces")).json()["namespaces"]]
    assert names == sorted(["default", NS, "s3://iceberg-bronze", "polaris://demo_catalog"])

    jobs = (await _get(f"{marquez.api}/api/v1/namespaces/{NS}/jobs")).json()
    assert jobs["totalCount"] == 1
    job = jobs["jobs"][0]
    assert job["id"] == {"namespace": NS, "name": "bronze_customers"}
    assert job["type"] == "BATCH"
    assert job["inputs"] == [{"namespace": "s3://iceberg-bronze", "name": "demo.raw_customers"}]
    assert job["outputs"] == [{"namespace": "polaris://demo_catalog", "name": "bronze.customers"}]
    assert job["description"] == "Loads raw customers into bronze"
    assert job["currentVersion"]
    assert job["latestRun"]["id"] == run_id
    assert job["latestRun"]["state"] == "COMPLETED"

    runs = (await _get(f"{marquez.api}/api/v1/namespaces/{NS}/jobs/bronze_customers/runs")).json()
    assert runs["totalCount"] == 1
    run = runs["runs"][0]
    assert run["durationMs"] == 2000
    assert run["startedAt"] < run["endedAt"]
    assert run["jobVersion"] == {"namespace": NS, "name": "bronze_customers", "version": job["currentVersion"]}
    assert (await _get(f"{marquez.api}/api/v1/jobs/runs/{run_id}")).json()["state"] == "COMPLETED"

    encoded = "polaris:%2F%2Fdemo_catalog"
    datasets = (await _get(f"{marquez.api}/api/v1/namespaces/{encoded}/datasets")).json()
    assert datasets["totalCount"] == 1
    out = datasets["datasets"][0]
    assert out["name"] == "bronze.customers"
    assert out["type"] == "DB_TABLE"
    assert out["lastModifiedAt"]
    assert [f["name"] for f in out["fields"]] == ["customer_id", "email"]
    assert out["currentVersion"]
    raw = (await _get(f"{marquez.api}/api/v1/namespaces/s3:%2F%2Ficeberg-bronze/datasets")).json()
    assert raw["datasets"][0]["lastModifiedAt"] is None  # inputs are read, not written

    graph = (await _get(f"{marquez.api}/api/v1/lineage", nodeId=f"job:{NS}:bronze_customers")).json()["graph"]
    by_id = {n["id"]: n for n in graph}
    assert set(by_id) == {
        f"job:{NS}:bronze_customers",
        "dataset:s3://iceberg-bronze:demo.raw_customers",
        "dataset:polaris://demo_catalog:bronze.customers",
    }
    job_node = by_id[f"job:{NS}:bronze_customers"]
    assert job_node["type"] == "JOB"
    assert job_node["inEdges"] == [
        {"origin": "dataset:s3://iceberg-bronze:demo.raw_customers", "destination": f"job:{NS}:bronze_customers"}
    ]

    events = (await _get(f"{marquez.api}/api/v1/events/lineage", limit="10")).json()
    assert events["totalCount"] == 2
    assert [e["eventType"] for e in events["events"]] == ["COMPLETE", "START"]  # newest first


async def test_failed_run_and_running_state(marquez: MarquezURLs) -> None:
    await anyio.to_thread.run_sync(lambda: _run_pair(marquez.api, job="silver_orders", end=RunState.FAIL))
    job = (await _get(f"{marquez.api}/api/v1/namespaces/{NS}/jobs/silver_orders")).json()
    assert job["latestRun"]["state"] == "FAILED"
    out = (await _get(f"{marquez.api}/api/v1/namespaces/polaris:%2F%2Fdemo_catalog/datasets/bronze.customers")).json()
    assert out["lastModifiedAt"] is None  # a failed run writes no dataset version


async def test_wrong_endpoints_are_404(marquez: MarquezURLs) -> None:
    doubled = _client(marquez.lineage)  # Floe's lineage_endpoint used as the client URL: .../api/v1/api/v1/lineage
    event = RunEvent(
        eventType=RunState.START,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=str(generate_new_uuid())),
        job=Job(namespace=NS, name="x"),
        producer=PRODUCER,
    )
    with pytest.raises(requests.HTTPError) as info:
        await anyio.to_thread.run_sync(doubled.emit, event)
    doubled.close()
    assert info.value.response is not None
    assert info.value.response.status_code == 404
    assert info.value.response.json() == {"code": 404, "message": "HTTP 404 Not Found"}
    async with httpx.AsyncClient(timeout=5) as client:
        for path in ("/lineage", "/api/v2/lineage", "/api/v1/linage", "/api/v1/namespace"):
            reply = await client.post(f"{marquez.api}{path}", json={})
            assert reply.status_code == 404, path
        tolerated = await client.get(f"{marquez.api}/api/v1/namespaces/")
        assert tolerated.status_code == 200
    assert (await _get(f"{marquez.api}/api/v1/namespaces")).json()["namespaces"][0]["name"] == "default"


async def test_invalid_events_are_refused(marquez: MarquezURLs) -> None:
    good: dict[str, Any] = {
        "eventType": "START",
        "eventTime": "2025-12-29T10:00:00Z",
        "run": {"runId": "3f2b7c1e-7d0e-4b8f-9a51-0c2e4b6c9d10"},
        "job": {"namespace": NS, "name": "j"},
        "producer": PRODUCER,
    }
    async with httpx.AsyncClient(base_url=marquez.api, timeout=5) as client:
        assert (await client.post("/api/v1/lineage", json=good)).status_code == 201
        broken = await client.post("/api/v1/lineage", content=b"{oops", headers={"content-type": "application/json"})
        assert broken.status_code == 400
        assert broken.json()["code"] == 400
        no_job = await client.post("/api/v1/lineage", json={k: v for k, v in good.items() if k != "job"})
        assert no_job.status_code == 422
        assert no_job.json() == {"errors": ["job must not be null"]}
        naive = await client.post("/api/v1/lineage", json={**good, "eventTime": "2025-12-29T10:00:00"})
        assert naive.status_code == 400  # Marquez needs a zoned timestamp
        bad_id = await client.post("/api/v1/lineage", json={**good, "run": {"runId": "not-a-uuid"}})
        assert bad_id.status_code == 400
        text = await client.post("/api/v1/lineage", content=b"{}", headers={"content-type": "text/plain"})
        assert text.status_code == 415
        assert (await client.get("/api/v1/lineage")).status_code == 400  # nodeId is required
        assert (await client.get("/api/v1/lineage", params={"nodeId": "job:nope:x"})).status_code == 404


async def test_admin_port(marquez: MarquezURLs) -> None:
    assert marquez.admin is not None
    pong = await _get(f"{marquez.admin}/ping")
    assert pong.status_code == 200
    assert pong.text == "pong"
    health = (await _get(f"{marquez.admin}/healthcheck")).json()
    assert health["postgresql"]["healthy"] is True
    assert health["deadlocks"]["healthy"] is True


async def test_unhealthy_database_fails_healthcheck() -> None:
    async def db_down() -> bool:
        return False

    async with run_marquez(db_check=db_down) as urls:
        reply = await _get(f"{urls.admin}/healthcheck")
        assert reply.status_code == 500
        assert reply.json()["postgresql"]["healthy"] is False


async def test_state_survives_restart(tmp_path: Path) -> None:
    state = str(tmp_path / "marquez.json")
    async with run_marquez(state_file=state, admin_port=None) as first:
        run_id = await anyio.to_thread.run_sync(_run_pair, first.api)
        created = (await _get(f"{first.api}/api/v1/namespaces/{NS}")).json()["createdAt"]
    async with run_marquez(state_file=state, admin_port=None) as second:
        job = (await _get(f"{second.api}/api/v1/namespaces/{NS}/jobs/bronze_customers")).json()
        assert job["latestRun"]["id"] == run_id
        assert job["latestRun"]["state"] == "COMPLETED"
        assert (await _get(f"{second.api}/api/v1/namespaces/{NS}")).json()["createdAt"] == created


async def test_process_entry(tmp_path: Path) -> None:
    with observability_process("marquez", "--state", str(tmp_path / "m.json")) as (proc, words):
        assert words[0] == "READY"
        assert words[2].startswith("admin=http://127.0.0.1:")
        await anyio.to_thread.run_sync(_run_pair, words[1])
        jobs = (await _get(f"{words[1]}/api/v1/namespaces/{NS}/jobs")).json()
        assert jobs["totalCount"] == 1
        assert await exit_code_on_sigterm(proc) == 0
