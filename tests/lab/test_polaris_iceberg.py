"""pyiceberg's real RestCatalog against the Polaris stand-in, end to end through moto's S3 and STS.

These pin the happy path Floe's seed job needs (namespace, table, append, scan back), what ``loadTable`` hands
the client (the catalog's client-facing ``endpoint``, path-style access, region, STS-vended keys), Polaris's
refusal to pretend it vended credentials when it cannot, and that entities survive a restart.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import boto3  # type: ignore[import-untyped]
import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import BadRequestError, NamespaceNotEmptyError, NoSuchTableError

from floe_lab.polaris import RunningPolaris, run_polaris
from tests.support.polaris import (
    AWS_KEY,
    PolarisS3,
    polaris_config,
    polaris_create_catalog,
    polaris_rest_catalog,
    polaris_token,
)

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])
ROWS = pa.table({"id": [1, 2, 3], "name": ["ada", "grace", "linus"]}, schema=SCHEMA)


def _objects(s3: PolarisS3, bucket: str, prefix: str) -> list[str]:
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint,
        region_name="us-east-1",
        aws_access_key_id=AWS_KEY,
        aws_secret_access_key=AWS_KEY,
    )
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


async def test_seed_a_table_and_read_it_back(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    assert (await polaris_create_catalog(polaris, polaris_s3)).status_code == 201

    def seed() -> tuple[dict[str, str], pa.Table, str]:
        catalog = polaris_rest_catalog(polaris)
        catalog.create_namespace("demo")
        table = catalog.create_table("demo.raw_customers", schema=SCHEMA)
        table.append(ROWS)
        loaded = catalog.load_table("demo.raw_customers")
        return loaded.io.properties, loaded.scan().to_arrow(), str(loaded.metadata_location)

    io_props, data, metadata_location = await anyio.to_thread.run_sync(seed)
    assert data.sort_by("id").equals(ROWS)
    # What the client was handed: the client-facing endpoint, not the in-cluster name Polaris itself used.
    assert io_props["s3.endpoint"] == polaris_s3.endpoint
    assert io_props["s3.path-style-access"] == "true"
    assert io_props["client.region"] == "us-east-1"
    assert io_props["s3.access-key-id"] and io_props["s3.session-token"]  # vended by STS AssumeRole
    assert metadata_location.startswith("s3://iceberg-bronze/demo/raw_customers/metadata/00001-")
    # Polaris wrote the metadata itself, through floe-infra-localstack:4566 (the services table).
    written = _objects(polaris_s3, "iceberg-bronze", "demo/raw_customers/metadata/")
    assert metadata_location.removeprefix("s3://iceberg-bronze/") in written
    assert any(
        "AssumeRole" in line or "POST /api/catalog/v1/demo_catalog/namespaces/demo/tables " in line
        for line in polaris.logs()
    )


async def test_catalog_without_sts_refuses_to_vend(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    await polaris_create_catalog(polaris, polaris_s3, roleArn=None, stsUnavailable=True)

    def default_client() -> bool:
        catalog = polaris_rest_catalog(polaris)  # pyiceberg asks for vended-credentials by default
        catalog.create_namespace("demo")
        with pytest.raises(
            BadRequestError,
            match=r"IllegalArgumentException: Credential vending was requested for table demo\.t, "
            r"but no credentials are available",
        ):
            catalog.create_table("demo.t", schema=SCHEMA)
        return bool(catalog.table_exists("demo.t"))  # as in Polaris, the table was created before the refusal

    assert await anyio.to_thread.run_sync(default_client)

    def floe_client() -> pa.Table:
        # Floe's client: no delegation header, its own static keys and endpoint.
        catalog = polaris_rest_catalog(
            polaris,
            **{"header.X-Iceberg-Access-Delegation": "", "s3.access-key-id": AWS_KEY, "s3.secret-access-key": AWS_KEY},
        )
        table = catalog.create_table("demo.seed", schema=SCHEMA)
        assert "s3.access-key-id" not in table.config
        assert table.config["s3.endpoint"] == polaris_s3.endpoint
        table.append(ROWS)
        return catalog.load_table("demo.seed").scan().to_arrow()

    assert (await anyio.to_thread.run_sync(floe_client)).num_rows == 3


async def test_table_lifecycle_and_conflicts(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    await polaris_create_catalog(polaris, polaris_s3)

    def lifecycle() -> None:
        catalog = polaris_rest_catalog(polaris)
        catalog.create_namespace("demo")
        catalog.create_table("demo.orders", schema=SCHEMA).append(ROWS)
        catalog.rename_table("demo.orders", "demo.orders_v2")
        assert catalog.list_tables("demo") == [("demo", "orders_v2")]
        with pytest.raises(NoSuchTableError, match=r"Table does not exist: demo\.orders"):
            catalog.load_table("demo.orders")
        # Polaris (>= 1.2) maps NamespaceNotEmptyException to 409, as the spec says: pyiceberg's NamespaceNotEmptyError.
        with pytest.raises(NamespaceNotEmptyError, match="NamespaceNotEmptyException: Namespace demo is not empty"):
            catalog.drop_namespace("demo")
        catalog.drop_table("demo.orders_v2")
        assert not catalog.table_exists("demo.orders_v2")
        catalog.drop_namespace("demo")
        assert catalog.list_namespaces() == []

    await anyio.to_thread.run_sync(lifecycle)


async def test_staged_create_through_a_transaction(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    await polaris_create_catalog(polaris, polaris_s3)

    def staged() -> tuple[str, int]:
        catalog = polaris_rest_catalog(polaris)
        catalog.create_namespace("demo")
        with catalog.create_table_transaction("demo.staged", schema=SCHEMA) as transaction:
            assert not catalog.table_exists("demo.staged")  # staging writes nothing
            transaction.append(ROWS)
        table = catalog.load_table("demo.staged")
        rows: int = table.scan().to_arrow().num_rows
        return str(table.metadata_location), rows

    location, rows = await anyio.to_thread.run_sync(staged)
    assert rows == 3
    assert location.startswith("s3://iceberg-bronze/demo/staged/metadata/00000-")


async def test_register_existing_metadata(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    await polaris_create_catalog(polaris, polaris_s3)

    def register() -> int:
        catalog = polaris_rest_catalog(polaris)
        catalog.create_namespace("demo")
        original = catalog.create_table("demo.original", schema=SCHEMA)
        original.append(ROWS)
        location = str(catalog.load_table("demo.original").metadata_location)
        catalog.drop_table("demo.original")
        registered = catalog.register_table("demo.original", location)
        rows: int = registered.scan().to_arrow().num_rows
        return rows

    assert await anyio.to_thread.run_sync(register) == 3


async def test_stale_commit_is_a_conflict(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    await polaris_create_catalog(polaris, polaris_s3)

    def seed() -> int:
        catalog = polaris_rest_catalog(polaris)
        catalog.create_namespace("demo")
        table = catalog.create_table("demo.orders", schema=SCHEMA)
        table.append(ROWS)
        snapshot = table.current_snapshot()
        assert snapshot is not None
        return int(snapshot.snapshot_id)

    current = await anyio.to_thread.run_sync(seed)
    stale = {
        "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": current + 1}],
        "updates": [{"action": "set-properties", "updates": {"owner": "floe"}}],
    }
    fresh = {**stale, "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": current}]}
    token = await polaris_token(polaris)
    url = "/api/catalog/v1/demo_catalog/namespaces/demo/tables/orders"
    async with httpx.AsyncClient(base_url=polaris.url, headers={"Authorization": f"Bearer {token}"}) as client:
        conflict = await client.post(url, json=stale)
        applied = await client.post(url, json=fresh)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["type"] == "CommitFailedException"
    assert conflict.json()["error"]["message"].startswith("Requirement failed: branch main has changed")
    assert applied.status_code == 200
    assert applied.json()["metadata"]["properties"]["owner"] == "floe"
    assert applied.json()["metadata-location"].startswith("s3://iceberg-bronze/demo/orders/metadata/00002-")


async def test_restart_keeps_catalogs_and_tables(polaris_s3: PolarisS3, tmp_path: Path) -> None:
    config = polaris_config(polaris_s3, tmp_path)
    async with run_polaris(config) as first:
        await polaris_create_catalog(first, polaris_s3)
        old_token = await polaris_token(first)

        def seed() -> None:
            catalog = polaris_rest_catalog(first)
            catalog.create_namespace("demo")
            catalog.create_table("demo.raw_orders", schema=SCHEMA).append(ROWS)

        await anyio.to_thread.run_sync(seed)

    async with run_polaris(config) as second:
        async with httpx.AsyncClient(base_url=second.url) as client:
            stale = await client.get("/api/management/v1/catalogs", headers={"Authorization": f"Bearer {old_token}"})
        assert stale.status_code == 401  # tokens are signed per process; entities persist

        def read() -> int:
            catalog: RestCatalog = polaris_rest_catalog(second)
            rows: int = catalog.load_table("demo.raw_orders").scan().to_arrow().num_rows
            return rows

        assert await anyio.to_thread.run_sync(read) == 3
