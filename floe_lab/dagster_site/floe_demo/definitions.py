"""The ``floe-demo`` code location: Floe's demo pipeline, small enough for the lab, real where it matters.

Upstream's bronze assets are validation-only reads of ``demo.raw_*`` through the Polaris Iceberg REST catalog;
silver is dbt over those tables. These assets do the same reads with pyiceberg, configured only from the
environment (as the user deployment's pod is), so every catalog or storage fault surfaces as the catalog's or
the storage's own error: a missing table is pyiceberg's ``NoSuchTableError``, a bad S3 endpoint is the S3
client's. ``silver/staging`` stands in for the dbt step and fails like it when a source table is missing.

Telemetry is what the seed report found silently absent: when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set each
asset exports one span (OpenTelemetry SDK, OTLP gRPC or ``OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf``, service
``OTEL_SERVICE_NAME``), and when ``OPENLINEAGE_URL`` is set it posts OpenLineage START and COMPLETE/FAIL run
events. Unset, nothing is emitted and nothing complains: that is the ``no-telemetry`` fault. Emission
failures only log a warning, as upstream's do. Env: POLARIS_URI, POLARIS_WAREHOUSE, POLARIS_CLIENT_ID,
POLARIS_CLIENT_SECRET, POLARIS_SCOPE, FLOE_DEMO_NAMESPACE, AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, S3_PATH_STYLE_ACCESS, OTEL_*, OPENLINEAGE_URL, OPENLINEAGE_NAMESPACE.
"""

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    Definitions,
    MaterializeResult,
    asset,
    define_asset_job,
    in_process_executor,
)

RAW_TABLES = ("raw_customers", "raw_products", "raw_orders", "raw_order_items")
PRODUCER = "https://github.com/floe-agents/floe-agents/lab/floe-demo"


def catalog_properties(env: dict[str, str] | None = None) -> dict[str, str]:
    """pyiceberg REST catalog properties from the environment, as Floe's ``floe_polaris`` client builds them."""
    env = dict(os.environ if env is None else env)
    props = {"type": "rest", "uri": env.get("POLARIS_URI", ""), "warehouse": env.get("POLARIS_WAREHOUSE", "")}
    if env.get("POLARIS_CLIENT_ID"):
        props["credential"] = f"{env['POLARIS_CLIENT_ID']}:{env.get('POLARIS_CLIENT_SECRET', '')}"
        props["scope"] = env.get("POLARIS_SCOPE", "PRINCIPAL_ROLE:ALL")
    if env.get("AWS_ENDPOINT_URL"):
        props["s3.endpoint"] = env["AWS_ENDPOINT_URL"]
        props["s3.path-style-access"] = env.get("S3_PATH_STYLE_ACCESS", "true")
        props["header.X-Iceberg-Access-Delegation"] = ""  # static keys below, no vended credentials
    for prop, var in (
        ("s3.region", "AWS_REGION"),
        ("s3.access-key-id", "AWS_ACCESS_KEY_ID"),
        ("s3.secret-access-key", "AWS_SECRET_ACCESS_KEY"),
    ):
        if env.get(var):
            props[prop] = env[var]
    return props


def _namespace() -> str:
    return os.environ.get("FLOE_DEMO_NAMESPACE", "demo")


def _count_rows(identifier: str) -> tuple[int, str]:
    from pyiceberg.catalog import load_catalog  # noqa: PLC0415 - keep the code server's load light

    table = load_catalog("floe", **catalog_properties()).load_table(identifier)
    return int(table.scan().to_arrow().num_rows), str(table.location())


@contextmanager
def _span(name: str, attributes: dict[str, str]) -> Iterator[None]:
    # SDK objects are created per asset and shut down (flushed) at its end: no global tracer provider.
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: PLC0415

    timeout = None if os.environ.get("OTEL_EXPORTER_OTLP_TIMEOUT") else 5
    if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc").startswith("http"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        exporter: Any = OTLPSpanExporter(timeout=timeout)
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter as GrpcExporter,
        )

        exporter = GrpcExporter(timeout=timeout)
    service = os.environ.get("OTEL_SERVICE_NAME", "floe-demo")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        with provider.get_tracer("floe-demo").start_as_current_span(name, attributes=attributes):
            yield
    finally:
        provider.shutdown()


@contextmanager
def _lineage(context: AssetExecutionContext, name: str, inputs: Sequence[str]) -> Iterator[None]:
    from openlineage.client import OpenLineageClient  # noqa: PLC0415
    from openlineage.client.event_v2 import InputDataset, Job, Run, RunEvent, RunState  # noqa: PLC0415
    from openlineage.client.transport.http import HttpConfig, HttpTransport  # noqa: PLC0415

    retry = {
        "total": 1,
        "connect": 1,
        "read": 1,
        "backoff_factor": 0.2,
        "allowed_methods": ["POST"],
        "status_forcelist": [502, 503, 504],
    }
    config = HttpConfig(url=os.environ["OPENLINEAGE_URL"], timeout=5.0, retry=retry)
    client = OpenLineageClient(transport=HttpTransport(config))
    run = Run(runId=str(uuid.uuid5(uuid.UUID(context.run.run_id), name)))
    job = Job(namespace=os.environ.get("OPENLINEAGE_NAMESPACE", "floe-demo"), name=name)
    datasets = [InputDataset(namespace=os.environ.get("POLARIS_URI", "iceberg"), name=i) for i in inputs]

    def emit(state: RunState) -> None:
        event = RunEvent(
            eventTime=datetime.now(UTC).isoformat(),
            producer=PRODUCER,
            run=run,
            job=job,
            eventType=state,
            inputs=datasets,
        )
        try:
            client.emit(event)
        except Exception as exc:  # lineage must never fail the asset (upstream only warns)
            context.log.warning(f"OpenLineage {state.value} event not delivered: {exc}")

    emit(RunState.START)
    try:
        yield
    except BaseException:
        emit(RunState.FAIL)
        raise
    emit(RunState.COMPLETE)


@contextmanager
def _telemetry(context: AssetExecutionContext, name: str, inputs: Sequence[str]) -> Iterator[None]:
    with ExitStack() as stack:
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            attrs = {"dagster.run_id": context.run.run_id, "floe.inputs": ",".join(inputs)}
            stack.enter_context(_span(name, attrs))
        if os.environ.get("OPENLINEAGE_URL"):
            stack.enter_context(_lineage(context, name, inputs))
        yield


def _bronze(table: str) -> AssetsDefinition:
    @asset(
        key_prefix=["bronze"],
        name=table,
        group_name="bronze",
        kinds={"iceberg"},
        description=f"Validates the raw Iceberg table {table} through the REST catalog (reads it).",
    )
    def _read(context: AssetExecutionContext) -> MaterializeResult[Any]:
        identifier = f"{_namespace()}.{table}"
        with _telemetry(context, f"bronze.{table}", [identifier]):
            rows, location = _count_rows(identifier)
        return MaterializeResult(metadata={"table": identifier, "rows": rows, "location": location})

    return _read


BRONZE = [_bronze(table) for table in RAW_TABLES]


@asset(
    key=AssetKey(["silver", "staging"]),
    group_name="silver",
    kinds={"iceberg"},
    deps=[AssetKey(["bronze", table]) for table in RAW_TABLES],
    description="Stands in for the dbt staging models: needs every raw source table, as dbt's sources do.",
)
def silver_staging(context: AssetExecutionContext) -> MaterializeResult[Any]:
    """Read all four raw tables; a missing one fails the step with the catalog's error."""
    identifiers = [f"{_namespace()}.{table}" for table in RAW_TABLES]
    with _telemetry(context, "silver.staging", identifiers):
        rows = {identifier: _count_rows(identifier)[0] for identifier in identifiers}
    return MaterializeResult(metadata={"rows": sum(rows.values()), "sources": ", ".join(identifiers)})


demo_bronze = define_asset_job("demo_bronze", selection=AssetSelection.groups("bronze"))
demo_pipeline = define_asset_job("demo_pipeline", selection=AssetSelection.groups("bronze", "silver"))

# One process per run instead of one per step: on the lab's 2 cores and 1.5 GB the failure modes are the same,
# and a step's error still surfaces as that step's failure.
defs = Definitions(assets=[*BRONZE, silver_staging], jobs=[demo_bronze, demo_pipeline], executor=in_process_executor)
