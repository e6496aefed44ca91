"""iceberg probe: the real lab per scenario; the Polaris stand-in in-process (moto S3) for a readable table, a
handed-out endpoint the cluster cannot resolve, the catalog's own S3 I/O failing, and an S3 that answers badly;
a misbehaving catalog; and our SigV4 signature against botocore's."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import anyio
import httpx
import pyarrow as pa
import pytest

from floe_agents.findings import Finding, Status
from floe_agents.probes._aws import signed_get_headers
from floe_agents.probes.iceberg import RAW_TABLES
from floe_agents.probes.iceberg import iceberg as iceberg_probe
from floe_lab.polaris import RunningPolaris
from tests.support.lab import LabHandle, findings_of, probe_findings
from tests.support.net import bad_server, closed_port
from tests.support.polaris import (
    AWS_KEY,
    CLIENT_ID,
    CLIENT_SECRET,
    FLOE_STORAGE,
    IN_CLUSTER_S3,
    LOCALSTACK,
    PolarisS3,
    ctx_for,
    lab_platform,
    polaris_create_catalog,
    polaris_rest_catalog,
    standin_components,
)
from tests.support.probes import run_probe

TABLES = {f"demo.{t}" for t in RAW_TABLES}


def codes(findings: list[Finding]) -> dict[str, str]:
    return {f.subject: str(f.code) for f in findings}


# --- the real lab ---------------------------------------------------------------------------------------------
LAB_CODES = {
    "healthy": "iceberg.table_ok",
    "missing-warehouse": "iceberg.warehouse_missing",
    "missing-namespace": "iceberg.namespace_missing",
    "missing-raw-tables": "iceberg.table_missing",
    "s3-endpoint-mismatch": "iceberg.table_missing",  # the seed job failed on the catalog's own S3 I/O
}


@pytest.mark.lab
@pytest.mark.parametrize("lab", list(LAB_CODES), indirect=True)
async def test_lab(lab: LabHandle) -> None:
    found = findings_of(await probe_findings(lab, iceberg_probe, only="iceberg"), "iceberg")
    assert codes(found) == dict.fromkeys(TABLES, LAB_CODES[lab.info["scenario"]]), [f.summary for f in found]
    if lab.info["scenario"] == "healthy":
        for f in found:
            assert f.evidence["s3_endpoint"] == IN_CLUSTER_S3  # what the catalog hands out, not platform.yaml
            assert f.evidence["resolves_from"] == {"cluster": ["127.0.0.1"]}
            assert "local" in f.evidence["unresolvable_from"]  # a cluster-only name, reached through targets
            assert f.evidence["read_via"].startswith(lab.url("floe-infra-localstack", "edge"))


# --- the stand-in in-process ----------------------------------------------------------------------------------
SCHEMA = pa.schema([("id", pa.int64())])


async def seed(running: RunningPolaris, s3: PolarisS3, **storage: Any) -> None:
    """The catalog (Floe's storage config, overridable) and the four raw tables, created the way Floe's seed job
    does (no credential vending; Polaris writes the metadata itself through its internal endpoint)."""
    assert (await polaris_create_catalog(running, s3, **{**FLOE_STORAGE, **storage})).status_code == 201

    def create() -> None:
        catalog = polaris_rest_catalog(running, **{"header.X-Iceberg-Access-Delegation": ""})
        catalog.create_namespace("demo")
        for table in RAW_TABLES:
            catalog.create_table(f"demo.{table}", schema=SCHEMA)

    await anyio.to_thread.run_sync(create)


def standin_ctx(
    http: httpx.AsyncClient, running: RunningPolaris, s3: PolarisS3, *, s3_local: str | None = None, **hosts: str
) -> Any:
    components = standin_components(running, s3)
    if s3_local is not None:
        components["s3"]["endpoints"]["api"]["urls"]["local"] = s3_local
    return ctx_for(
        http,
        "iceberg",
        components,
        plat=lab_platform(),
        credentials={
            "polaris_client_id": CLIENT_ID,
            "polaris_client_secret": CLIENT_SECRET,
            "s3_access_key_id": AWS_KEY,
            "s3_secret_access_key": AWS_KEY,
        },
        cluster_hosts={LOCALSTACK: "127.0.0.1", "floe-infra-polaris": "127.0.0.1", **hosts},
        local_hosts={},  # like this machine: no cluster names
    )


async def test_tables_readable_through_handed_out_endpoint(
    polaris: RunningPolaris, polaris_s3: PolarisS3, http: httpx.AsyncClient
) -> None:
    await seed(polaris, polaris_s3)
    found = await run_probe(iceberg_probe, standin_ctx(http, polaris, polaris_s3))
    assert codes(found) == dict.fromkeys(TABLES, "iceberg.table_ok")
    for f in found:
        assert f.evidence["read_via"].startswith(f"{polaris_s3.endpoint}/iceberg-bronze/demo/")
        assert f.evidence["format_version"] == 2 and f.evidence["signed"] is True


async def test_handed_out_endpoint_unresolvable_in_cluster(
    polaris: RunningPolaris, polaris_s3: PolarisS3, http: httpx.AsyncClient
) -> None:
    """The catalog itself reaches S3 (endpointInternal) but hands clients a laptop-only name: the seed blocker."""
    await seed(polaris, polaris_s3, endpoint="http://localstack:4566", endpointInternal=IN_CLUSTER_S3)
    found = await run_probe(iceberg_probe, standin_ctx(http, polaris, polaris_s3))
    assert codes(found) == dict.fromkeys(TABLES, "iceberg.handed_out_endpoint_unresolvable")
    assert {f.evidence["storage_host"] for f in found} == {"localstack"}
    assert all("cluster" in f.evidence["unresolvable_from"] for f in found)


async def test_catalog_own_storage_io_fails(
    polaris: RunningPolaris, polaris_s3: PolarisS3, http: httpx.AsyncClient
) -> None:
    """The tables exist, but the catalog pod can no longer resolve its S3 endpoint: loadTable answers 500."""
    await seed(polaris, polaris_s3)
    polaris_s3.write_services({})  # the catalog pod's DNS forgets floe-infra-localstack
    try:
        found = await run_probe(iceberg_probe, standin_ctx(http, polaris, polaris_s3))
    finally:
        polaris_s3.default_services()
    assert codes(found) == dict.fromkeys(TABLES, "iceberg.catalog_storage_failed")
    for f in found:
        assert (f.evidence["error_type"], f.evidence["status_code"]) == ("SdkClientException", 500)
        assert f.evidence["storage_host"] == LOCALSTACK and f.evidence["io_by"] == "catalog"


@pytest.mark.parametrize(("kind", "reason"), [("closed", "refused"), ("notjson", None), ("error", "HTTP 500")])
async def test_metadata_unreadable(
    polaris: RunningPolaris, polaris_s3: PolarisS3, http: httpx.AsyncClient, kind: str, reason: str | None
) -> None:
    await seed(polaris, polaris_s3)
    async with bad_server() as base:
        s3_local = f"http://127.0.0.1:{closed_port()}" if kind == "closed" else f"{base}/{kind}"
        found = await run_probe(iceberg_probe, standin_ctx(http, polaris, polaris_s3, s3_local=s3_local))
    assert codes(found) == dict.fromkeys(TABLES, "iceberg.metadata_unreadable")
    for f in found:
        assert reason is None or reason in f.summary
        assert f.evidence["read_via"].startswith(s3_local)


# --- a misbehaving catalog ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "cause"),
    [
        ("slow", "polaris.unreachable"),
        ("error", "polaris.api_error"),
        ("notjson", "polaris.bad_response"),
        ("truncated", "polaris.bad_response"),
        ("auth", "polaris.auth_failed"),
        ("forbidden", "polaris.auth_failed"),
        ("closed", "polaris.unreachable"),
        ("tls", "polaris.unreachable"),
    ],
)
async def test_bad_catalog(http: httpx.AsyncClient, kind: str, cause: str) -> None:
    async with bad_server() as base:
        api = {
            "closed": f"http://127.0.0.1:{closed_port()}",
            "tls": f"https://{base.removeprefix('http://')}/ok-json",
        }.get(kind, f"{base}/{kind}")
        started = time.monotonic()
        found = await run_probe(
            iceberg_probe, ctx_for(http, "iceberg", {"polaris": {"endpoints": {"api": {"urls": {"local": api}}}}})
        )
        elapsed = time.monotonic() - started
    [f] = found
    assert (f.status, f.code, f.evidence["cause"]) == (Status.UNKNOWN, "iceberg.catalog_unavailable", cause)
    assert elapsed < iceberg_probe.timeout_s - 1


def test_metadata_reads_are_signed_like_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    """The GET carries botocore's SigV4 headers for the vended credentials (session token included)."""
    from botocore import auth  # type: ignore[import-untyped]  # noqa: PLC0415

    monkeypatch.setattr(auth, "get_current_datetime", lambda: datetime(2026, 1, 2, 3, 4, 5))
    url = httpx.URL("http://127.0.0.1:4566/iceberg-bronze/demo/raw_orders/metadata/00001-a%2Bb.metadata.json")
    headers = signed_get_headers(url, "us-east-1", "AKID", "SECRET", "TOKEN")
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID/20260102/us-east-1/s3/aws4_request")
    assert (headers["X-Amz-Date"], headers["X-Amz-Security-Token"]) == ("20260102T030405Z", "TOKEN")
    assert signed_get_headers(url, "us-east-1", "AKID", "OTHER", None)["Authorization"] != headers["Authorization"]
