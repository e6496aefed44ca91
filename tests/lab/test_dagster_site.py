"""Real Dagster on the lab's real PostgreSQL: schema states, the three processes, and floe-demo's telemetry.

Pinned: with table auto-creation off the database stays empty (the "unmigrated schema" fault is real), a bare
``dagster instance migrate`` on it fails part-way and leaves ``alembic_version`` behind the installed head,
and ``migrate`` as the chart runs it brings it to the head; in the healthy lab the webserver reports 1.13.27 and
serves the ``floe-demo`` location with its four bronze assets over GraphQL, the daemon writes heartbeats, and the
pipeline's run succeeds. And floe-demo's assets emit a span and OpenLineage events only when configured to.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest
import yaml

from floe_lab.dagster_site import dagster as dg
from floe_lab.dagster_site.instance import PgSettings, render_dagster_yaml, write_instance
from floe_lab.postgres import Postgres
from tests.support.net import closed_port
from tests.support.processes import real_postgres_running


@pytest.fixture(scope="module")
async def real_postgres(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Postgres]:
    async with real_postgres_running(tmp_path_factory.mktemp("pg"), "dagster_unmigrated") as pg:
        yield pg


def _settings(pg: Postgres, database: str) -> PgSettings:
    return PgSettings(pg.host, pg.port, pg.user, pg.password, database)


def test_instance_yaml_pins_psycopg2_and_can_keep_the_password_out() -> None:
    pg = PgSettings("127.0.0.1", 5432, "postgres", "s3cr:t/")
    inline = yaml.safe_load(render_dagster_yaml(pg, Path("/h"), autocreate_tables=False))["storage"]["postgres"]
    assert inline == {
        "should_autocreate_tables": False,
        "postgres_url": "postgresql+psycopg2://postgres:s3cr%3At%2F@127.0.0.1:5432/dagster",
    }
    text = render_dagster_yaml(pg, Path("/h"), password_env="DAGSTER_PG_PASSWORD")
    from_env = yaml.safe_load(text)["storage"]["postgres"]
    assert from_env["postgres_db"]["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    assert from_env["postgres_db"]["scheme"] == "postgresql+psycopg2"
    assert "s3cr" not in text


def test_catalog_properties_follow_floe_polaris_client() -> None:
    from floe_lab.dagster_site.floe_demo.definitions import catalog_properties  # noqa: PLC0415

    env = {
        "POLARIS_URI": "http://floe-infra-polaris:8181/api/catalog",
        "POLARIS_WAREHOUSE": "demo_catalog",
        "POLARIS_CLIENT_ID": "demo_client",
        "POLARIS_CLIENT_SECRET": "demo_secret_k8s",
        "AWS_ENDPOINT_URL": "http://floe-infra-localstack:4566",
        "AWS_REGION": "us-east-1",
    }
    assert catalog_properties(env) == {
        "type": "rest",
        "uri": "http://floe-infra-polaris:8181/api/catalog",
        "warehouse": "demo_catalog",
        "credential": "demo_client:demo_secret_k8s",
        "scope": "PRINCIPAL_ROLE:ALL",
        "s3.endpoint": "http://floe-infra-localstack:4566",
        "s3.path-style-access": "true",
        "header.X-Iceberg-Access-Delegation": "",
        "s3.region": "us-east-1",
    }


def test_demo_pipeline_runs_bronze_then_silver() -> None:
    from dagster import AssetKey  # noqa: PLC0415

    from floe_lab.dagster_site.floe_demo.definitions import defs  # noqa: PLC0415

    job = defs.resolve_job_def("demo_pipeline")
    graph = defs.resolve_asset_graph()
    bronze = {AssetKey(["bronze", t]) for t in ("raw_customers", "raw_products", "raw_orders", "raw_order_items")}
    assert graph.get(AssetKey(["silver", "staging"])).parent_keys == bronze
    assert {node.name for node in job.graph.node_defs} == {
        "bronze__raw_customers",
        "bronze__raw_products",
        "bronze__raw_orders",
        "bronze__raw_order_items",
        "silver__staging",
    }


@pytest.mark.lab
async def test_unmigrated_schema_is_real_and_migrate_fixes_it(real_postgres: Postgres, tmp_path: Path) -> None:
    dsn = real_postgres.dsn("dagster_unmigrated")
    home = tmp_path / "dagster_home"
    write_instance(home, _settings(real_postgres, "dagster_unmigrated"), autocreate_tables=False)

    def open_instance() -> str:  # what every Dagster process does at start, then a query the UI would make
        from dagster import DagsterInstance  # noqa: PLC0415 - heavy, only here

        with DagsterInstance.from_config(str(home)) as instance:
            try:
                instance.get_runs_count()
            except Exception as exc:  # the error text is the observation
                return str(exc)
        return ""

    assert 'relation "runs" does not exist' in await anyio.to_thread.run_sync(open_instance)
    assert await dg.db_schema_version(dsn) is None
    assert await _tables(dsn) == set()

    with pytest.raises(subprocess.CalledProcessError) as failed:  # Dagster's migrations need its base tables
        await dg.migrate(home, create_tables=False)
    assert 'relation "event_logs" does not exist' in failed.value.output
    behind = await dg.db_schema_version(dsn)
    head = dg.installed_schema_head()
    assert behind is not None
    assert behind != head

    output = await dg.migrate(home)
    assert f"current: {head}" in output
    assert await dg.db_schema_version(dsn) == head
    assert {"runs", "event_logs", "daemon_heartbeats", "alembic_version"} <= await _tables(dsn)


async def _tables(dsn: str) -> set[str]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in await cur.fetchall()}


class _Sink(BaseHTTPRequestHandler):
    """Records every POST (OTLP/HTTP traces, OpenLineage events) and answers 200."""

    received: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append((self.path, body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sink() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server.received  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.lab
async def test_assets_emit_span_and_lineage_only_when_configured(
    sink: tuple[str, list[tuple[str, bytes]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = sink
    dead = closed_port()
    monkeypatch.setenv("POLARIS_URI", f"http://127.0.0.1:{dead}/api/catalog")
    monkeypatch.setenv("POLARIS_WAREHOUSE", "demo_catalog")
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OPENLINEAGE_URL", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    quiet = await anyio.to_thread.run_sync(_materialize_raw_customers)
    assert "Connection refused" in quiet  # the catalog client's own error, not ours
    assert received == []  # the seed's no-telemetry fault: silent

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "floe-k8s-local")
    monkeypatch.setenv("OPENLINEAGE_URL", url)
    await anyio.to_thread.run_sync(_materialize_raw_customers)
    traces = [body for path, body in received if path == "/v1/traces"]
    events = [json.loads(body) for path, body in received if path == "/api/v1/lineage"]
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    assert events[0]["job"] == {"namespace": "floe-demo", "name": "bronze.raw_customers", "facets": {}}
    assert events[0]["inputs"][0]["name"] == "demo.raw_customers"
    assert len(traces) == 1
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: PLC0415
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest.FromString(traces[0])
    (resource_spans,) = request.resource_spans
    attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attrs["service.name"] == "floe-k8s-local"
    (span,) = resource_spans.scope_spans[0].spans
    assert span.name == "bronze.raw_customers"
    assert span.status.code == 2  # STATUS_CODE_ERROR: the failed catalog call is on the span


def _materialize_raw_customers() -> str:
    """Run bronze/raw_customers in-process (ephemeral instance); returns the step's failure text."""
    from dagster import materialize  # noqa: PLC0415 - heavy, only here

    from floe_lab.dagster_site.floe_demo.definitions import BRONZE  # noqa: PLC0415

    result = materialize([BRONZE[0]], raise_on_error=False)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    return str(failure.step_failure_data.error)
