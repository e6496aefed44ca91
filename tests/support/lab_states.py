"""Observable states of a running lab, checked by talking to its servers directly — never through floe-agents.

Each check answers "is this fault really there?" with the server's own answer: the Kubernetes API's 404 and
pod status, the dagster database's alembic_version, the catalog's own error when it writes to S3, Jaeger's
service list, Marquez's job list.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import psycopg

from floe_lab.dagster_site.dagster import installed_schema_head
from tests.support.lab import NS, LabHandle

WAREHOUSE = "demo_catalog"


def secret_missing(lab: LabHandle) -> bool:
    gone = lab.kube(f"/api/v1/namespaces/{NS}/secrets/floe-dagster-postgresql-secret").status_code == 404
    pods = lab.kube(f"/api/v1/namespaces/{NS}/pods").json()["items"]
    stuck = [
        p["metadata"]["name"]
        for p in pods
        for c in p["status"].get("containerStatuses", [])
        if (c.get("state", {}).get("waiting") or {}).get("reason") == "CreateContainerConfigError"
    ]
    assert gone == bool(stuck), f"secret gone={gone} but pods in CreateContainerConfigError: {stuck}"
    return gone


def schema_unmigrated(lab: LabHandle) -> bool:
    password = lab.secret("floe-demo-credentials", "postgresql-password")
    port = lab.ports["floe-infra-postgresql"]["tcp-postgresql"]
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", password=password, dbname="dagster") as conn:
        row = conn.execute("select to_regclass('public.alembic_version')").fetchone()
        if row is None or row[0] is None:
            return True
        version = conn.execute("select version_num from alembic_version").fetchone()
    return version is None or version[0] != installed_schema_head()


def warehouse_missing(lab: LabHandle) -> bool:
    with lab.polaris() as cat:
        return cat.get("/v1/config", params={"warehouse": WAREHOUSE}).status_code == 404


def namespace_missing(lab: LabHandle) -> bool:
    if warehouse_missing(lab):
        return False
    with lab.polaris() as cat:
        return cat.get(f"/v1/{WAREHOUSE}/namespaces/demo").status_code == 404


def raw_tables_missing(lab: LabHandle) -> bool:
    if warehouse_missing(lab):
        return True
    with lab.polaris() as cat:
        codes = [
            cat.get(f"/v1/{WAREHOUSE}/namespaces/demo/tables/{t}").status_code
            for t in ("raw_customers", "raw_products", "raw_orders", "raw_order_items")
        ]
    return any(code != 200 for code in codes)


def _catalog_write(lab: LabHandle) -> httpx.Response | None:
    """Ask the catalog to write a table's metadata to S3 itself: its own S3 (and STS) I/O shows whether it works."""
    if warehouse_missing(lab):
        return None
    with lab.polaris() as cat:
        cat.post(
            f"/v1/{WAREHOUSE}/namespaces",
            json={"namespace": ["lab_check"], "properties": {"location": "s3://iceberg-bronze/lab_check/"}},
        )
        schema = {
            "type": "struct",
            "schema-id": 0,
            "fields": [{"id": 1, "name": "x", "required": False, "type": "long"}],
        }
        created = cat.post(
            f"/v1/{WAREHOUSE}/namespaces/lab_check/tables", json={"name": f"t{time.time_ns()}", "schema": schema}
        )
    known = ("UnknownHostException", "Failed to get subscoped credentials", "Unable to execute HTTP request")
    assert created.status_code == 200 or any(k in created.text for k in known), created.text
    return created


def storage_endpoint_unreachable(lab: LabHandle) -> bool:
    created = _catalog_write(lab)
    return created is not None and created.status_code != 200 and "subscoped credentials" not in created.text


def credential_vending_broken(lab: LabHandle) -> bool:
    created = _catalog_write(lab)
    return created is not None and created.status_code == 422 and "subscoped credentials" in created.text


def no_telemetry(lab: LabHandle) -> bool:
    jaeger = httpx.get(lab.url("floe-infra-jaeger", "query") + "/api/services", timeout=10).json()["data"] or []
    jobs = httpx.get(lab.url("floe-infra-marquez", "http") + "/api/v1/namespaces/floe-demo/jobs", timeout=10)
    has_jobs = jobs.status_code == 200 and jobs.json().get("totalCount", 0) > 0
    traced = "floe-k8s-local" in jaeger
    assert traced == has_jobs, f"traces={traced} but lineage jobs={has_jobs}: emitters disagree"
    return not traced


STATES: dict[str, Callable[[LabHandle], bool]] = {
    "secret-missing": secret_missing,
    "schema-unmigrated": schema_unmigrated,
    "storage-endpoint-unreachable": storage_endpoint_unreachable,
    "credential-vending-broken": credential_vending_broken,
    "warehouse-missing": warehouse_missing,
    "namespace-missing": namespace_missing,
    "raw-tables-missing": raw_tables_missing,
    "no-telemetry": no_telemetry,
}
