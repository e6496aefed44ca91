"""The lab's Helm hook Jobs as real programs: ``python -m floe_lab.jobs <job>``.

Upstream Floe initialises the platform with post-install hook Jobs (floe-infra-localstack-init,
floe-infra-polaris-init, floe-infra-seed-data, named after the release) and Dagster's instance-migrate Job. The
seed report's blockers are largely *those Jobs not having done their work*. In the lab they run as pods of the
lab kubelet, in the pod network (cluster DNS through ``floe_lab.podnet``), with their configuration from env — so
a Job that is missing, fails, or is configured with a wrong endpoint leaves exactly the state it would upstream.
Each job prints what it did and exits non-zero with the server's own error on failure.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import httpx

__all__ = ["RAW_NAMESPACE", "RAW_TABLES", "main"]

RAW_NAMESPACE = "demo"  # the seed-data Job's default SEED_NAMESPACE: where the raw source tables are written
RAW_TABLES = ("raw_customers", "raw_products", "raw_orders", "raw_order_items")


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        sys.exit(f"missing environment variable {name}")
    return value


def _layer_buckets() -> dict[str, str]:
    """``LAYER_BUCKETS`` (``bronze=<bucket>,silver=<bucket>,...``): each layer's bucket, the first the default."""
    pairs = [item.split("=", 1) for item in _env("LAYER_BUCKETS").split(",") if "=" in item]
    if not pairs:
        sys.exit("LAYER_BUCKETS names no layer=bucket pair")
    return {layer.strip(): bucket.strip() for layer, bucket in pairs}


def localstack_init() -> None:
    """Buckets and the polaris-storage-role (<release>-infra-localstack-init), at ``LOCALSTACK_HOST``."""
    from floe_lab.s3 import provision  # noqa: PLC0415 - boto3 is heavy

    endpoint = f"http://{_env('LOCALSTACK_HOST')}"
    buckets = [b.strip() for b in _env("BUCKETS").split(",") if b.strip()]
    print(
        f"provisioned {endpoint}: buckets {', '.join(buckets)}, role {provision(endpoint, buckets=buckets)}", flush=True
    )


def _token(client: httpx.Client, uri: str) -> str:
    response = client.post(
        f"{uri}/v1/oauth/tokens",
        data={
            "grant_type": "client_credentials",
            "client_id": _env("POLARIS_CLIENT_ID"),
            "client_secret": _env("POLARIS_CLIENT_SECRET"),
            "scope": "PRINCIPAL_ROLE:ALL",
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _check(response: httpx.Response, what: str, ok: tuple[int, ...] = (200, 201, 204, 409)) -> None:
    if response.status_code not in ok:
        sys.exit(f"{what}: HTTP {response.status_code}: {response.text}")
    print(f"{what}: HTTP {response.status_code}", flush=True)


def polaris_init() -> None:
    """Catalog (warehouse) with its S3 storage config, namespaces, and the demo_data_admin role grants."""
    uri = _env("POLARIS_URI")
    mgmt = _env("POLARIS_MANAGEMENT_URI")
    catalog = _env("CATALOG_NAME")
    buckets = _layer_buckets()
    default_bucket = next(iter(buckets.values()))
    with httpx.Client(timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {_token(client, uri)}"
        storage = {
            "storageType": "S3",
            "allowedLocations": [f"s3://{bucket}/" for bucket in buckets.values()],
            "endpoint": _env("STORAGE_ENDPOINT"),
            "pathStyleAccess": _env("PATH_STYLE_ACCESS") == "true",
            "region": "us-east-1",
            "stsUnavailable": True,
        }
        if role := os.environ.get("STS_ROLE_ARN"):  # credential vending through STS (Polaris' AWS default)
            storage.update(roleArn=role, stsUnavailable=False, stsEndpoint=os.environ.get("STS_ENDPOINT") or None)
        body = {
            "catalog": {
                "type": "INTERNAL",
                "name": catalog,
                "storageConfigInfo": storage,
                "properties": {"default-base-location": f"s3://{default_bucket}/"},
            }
        }
        _check(client.post(f"{mgmt}/catalogs", json=body), f"create catalog {catalog}")
        roles = f"{mgmt}/catalogs/{catalog}/catalog-roles"
        _check(client.post(roles, json={"catalogRole": {"name": "demo_data_admin"}}), "catalog role demo_data_admin")
        _check(
            client.put(
                f"{roles}/demo_data_admin/grants",
                json={"grant": {"type": "catalog", "privilege": "CATALOG_MANAGE_CONTENT"}},
            ),
            "grant CATALOG_MANAGE_CONTENT",
        )
        _check(
            client.put(
                f"{mgmt}/principal-roles/service_admin/catalog-roles/{catalog}",
                json={"catalogRole": {"name": "demo_data_admin"}},
            ),
            "demo_data_admin -> service_admin",
        )
        for ns in _env("NAMESPACES").split(","):
            location = f"s3://{buckets.get(ns, default_bucket)}/{ns}/"  # the raw namespace: the first layer's
            _check(
                client.post(
                    f"{uri}/v1/{catalog}/namespaces", json={"namespace": [ns], "properties": {"location": location}}
                ),
                f"namespace {ns}",
            )


def seed_data() -> None:
    """The raw source tables demo.raw_* with a few rows each (<release>-infra-seed-data)."""
    import pyarrow as pa  # noqa: PLC0415 - heavy
    from pyiceberg.catalog import load_catalog  # noqa: PLC0415

    namespace = _env("SEED_NAMESPACE", RAW_NAMESPACE)
    catalog = load_catalog(
        "floe",
        **{
            "type": "rest",
            "uri": _env("POLARIS_URI"),
            "warehouse": _env("POLARIS_WAREHOUSE"),
            "credential": f"{_env('POLARIS_CLIENT_ID')}:{_env('POLARIS_CLIENT_SECRET')}",
            "scope": "PRINCIPAL_ROLE:ALL",
            "py-io-impl": "pyiceberg.io.fsspec.FsspecFileIO",
            "s3.access-key-id": _env("AWS_ACCESS_KEY_ID"),
            "s3.secret-access-key": _env("AWS_SECRET_ACCESS_KEY"),
            "s3.region": "us-east-1",
            # Static keys, no vended credentials: the header Floe's own client sends for S3-compatible stores.
            "header.X-Iceberg-Access-Delegation": "",
        },
    )
    rows: dict[str, pa.Table] = {
        "raw_customers": pa.table({"customer_id": [1, 2, 3], "name": ["Ada", "Grace", "Linus"]}),
        "raw_products": pa.table({"product_id": [10, 11], "name": ["widget", "gadget"], "price": [2.5, 9.0]}),
        "raw_orders": pa.table({"order_id": [100, 101], "customer_id": [1, 2], "status": ["paid", "open"]}),
        "raw_order_items": pa.table({"order_id": [100, 100, 101], "product_id": [10, 11, 10], "quantity": [1, 2, 5]}),
    }
    # The gold marts Cube serves, as a past pipeline run (dbt) would have left them.
    gold = {
        "gold.customer_summary": pa.table({"customer_id": [1, 2, 3], "orders": [1, 1, 0]}),
        "gold.order_analytics": pa.table({"status": ["paid", "open"], "revenue": [7.5, 12.5]}),
    }
    tables = {f"{namespace}.{name}": rows[name] for name in RAW_TABLES} | gold
    for identifier, data in tables.items():
        if catalog.table_exists(identifier):
            print(f"{identifier}: exists", flush=True)
            continue
        table = catalog.create_table(identifier, schema=data.schema)
        table.append(data)
        print(f"{identifier}: created with {data.num_rows} rows", flush=True)


JOBS: dict[str, Callable[[], None]] = {
    "localstack-init": localstack_init,
    "polaris-init": polaris_init,
    "seed-data": seed_data,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run one of the lab's Helm hook jobs.")
    parser.add_argument("job", choices=sorted(JOBS))
    args = parser.parse_args(argv)
    try:
        JOBS[args.job]()
    except Exception as exc:
        sys.exit(f"{args.job} failed: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
