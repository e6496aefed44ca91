"""The seed report's endpoint faults, reproduced by the Polaris stand-in the way Polaris produces them.

The catalog does its own S3/STS I/O from its pod, resolving hosts only through the lab's service table. These
pin the client-visible results: 500 ``SdkClientException: Received an UnknownHostException ...`` for a storage
host the pod cannot resolve (``<bucket>.<host>`` without path-style access), 422 ``Failed to get subscoped
credentials`` when STS fails, 403 ``ForbiddenException`` outside ``allowedLocations``, S3's own errors mapped
like Polaris maps them, and recovery when the lab rewrites the table.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio
import httpx
import pyarrow as pa
import pytest
from aiohttp import web
from pyiceberg.exceptions import ServerError

from floe_lab.polaris import RunningPolaris, run_polaris
from floe_lab.polaris.errors import UNKNOWN_HOST_MESSAGE
from tests.support.net import serve
from tests.support.polaris import (
    LOCALSTACK,
    PolarisS3,
    polaris_config,
    polaris_create_catalog,
    polaris_rest_catalog,
    polaris_token,
)

TABLE_BODY = {
    "name": "raw_customers",
    "schema": {
        "type": "struct",
        "schema-id": 0,
        "fields": [{"id": 1, "name": "id", "type": "long", "required": False}],
    },
}
NO_STS: dict[str, Any] = {"roleArn": None, "stsUnavailable": True}


async def _create_table(polaris: RunningPolaris, body: dict[str, Any] | None = None) -> httpx.Response:
    """``createTable`` as Floe's client sends it (no delegation header), after creating namespace ``demo``."""
    token = await polaris_token(polaris)
    headers = {"Authorization": f"Bearer {token}", "X-Iceberg-Access-Delegation": ""}
    async with httpx.AsyncClient(base_url=polaris.url, headers=headers) as client:
        base = "/api/catalog/v1/demo_catalog/namespaces"
        if (await client.get(f"{base}/demo")).status_code == 404:
            assert (await client.post(base, json={"namespace": ["demo"]})).status_code == 200
        return await client.post(f"{base}/demo/tables", json=body or TABLE_BODY)


def _error(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


async def test_storage_host_not_in_cluster_dns(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    await polaris_create_catalog(polaris, polaris_s3, endpointInternal="http://floe-infra-minio:9000", **NO_STS)
    response = await _create_table(polaris)
    assert response.status_code == 500
    error = _error(response)
    assert error["type"] == "SdkClientException"
    assert error["message"] == UNKNOWN_HOST_MESSAGE
    assert "java.net.UnknownHostException: floe-infra-minio: Name or service not known" in error["stack"][-1]
    assert any("floe-infra-minio: Name or service not known" in line for line in polaris.logs())

    def through_pyiceberg() -> None:
        catalog = polaris_rest_catalog(polaris, **{"header.X-Iceberg-Access-Delegation": ""})
        with pytest.raises(
            ServerError,
            match=re.escape(f"SdkClientException: {UNKNOWN_HOST_MESSAGE}"),
        ):
            catalog.create_table("demo.other", schema=pa.schema([("id", pa.int64())]))

    await anyio.to_thread.run_sync(through_pyiceberg)


async def test_virtual_host_addressing_asks_for_bucket_dot_host(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    await polaris_create_catalog(polaris, polaris_s3, pathStyleAccess=False, **NO_STS)
    response = await _create_table(polaris)
    assert response.status_code == 500
    error = _error(response)
    assert error["message"] == UNKNOWN_HOST_MESSAGE
    assert any(f"iceberg-bronze.{LOCALSTACK}: Name or service not known" in line for line in error["stack"])


async def test_sts_failures_are_422_subscoped_credentials(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    await polaris_create_catalog(polaris, polaris_s3, stsEndpoint="http://floe-infra-sts:4566")
    unresolvable = await _create_table(polaris)
    assert unresolvable.status_code == 422
    assert _error(unresolvable)["type"] == "UnprocessableEntityException"
    assert _error(unresolvable)["message"] == f"Failed to get subscoped credentials: {UNKNOWN_HOST_MESSAGE}"

    token = await polaris_token(polaris)
    async with httpx.AsyncClient(base_url=polaris.url, headers={"Authorization": f"Bearer {token}"}) as client:
        catalog = (await client.get("/api/management/v1/catalogs/demo_catalog")).json()
        storage = {**catalog["storageConfigInfo"], "stsEndpoint": "http://localhost:4566"}
        update = {"currentEntityVersion": catalog["entityVersion"], "storageConfigInfo": storage}
        assert (await client.put("/api/management/v1/catalogs/demo_catalog", json=update)).status_code == 200
    refused = await _create_table(polaris)
    assert refused.status_code == 422
    assert _error(refused)["message"] == (
        "Failed to get subscoped credentials: Unable to execute HTTP request: Connect to localhost:4566 "
        "[localhost/127.0.0.1] failed: Connection refused (SDK Attempt Count: 4)"
    )


async def test_location_outside_allowed_locations(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    await polaris_create_catalog(polaris, polaris_s3, **NO_STS)
    response = await _create_table(polaris, {**TABLE_BODY, "location": "s3://elsewhere/demo/raw_customers"})
    assert response.status_code == 403
    assert _error(response)["type"] == "ForbiddenException"
    assert _error(response)["message"] == (
        "Invalid locations '[s3://elsewhere/demo/raw_customers]' for identifier 'demo.raw_customers': "
        "s3://elsewhere/demo/raw_customers is not in the list of allowed locations: "
        "[s3://iceberg-bronze/, s3://iceberg-silver/, s3://iceberg-gold/]"
    )


async def test_loopback_endpoint_is_the_pod_itself(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    # The laptop's view (a port-forward on localhost) means nothing inside the catalog pod.
    await polaris_create_catalog(polaris, polaris_s3, endpointInternal=polaris_s3.endpoint, **NO_STS)
    response = await _create_table(polaris)
    assert response.status_code == 500
    assert "failed: Connection refused" in _error(response)["message"]
    assert f"Connect to 127.0.0.1:{polaris_s3.port}" in _error(response)["message"]


async def test_missing_bucket_is_mapped_like_polaris(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    await polaris_create_catalog(polaris, polaris_s3, allowedLocations=["s3://iceberg-missing/"], **NO_STS)
    token = await polaris_token(polaris)
    async with httpx.AsyncClient(base_url=polaris.url, headers={"Authorization": f"Bearer {token}"}) as client:
        namespace = {"namespace": ["demo"], "properties": {"location": "s3://iceberg-missing/demo/"}}
        assert (await client.post("/api/catalog/v1/demo_catalog/namespaces", json=namespace)).status_code == 200
    response = await _create_table(polaris)
    assert response.status_code == 400  # S3's 404 becomes a 400 in IcebergExceptionMapper
    assert _error(response)["type"] == "S3Exception"
    assert _error(response)["message"].startswith("The specified bucket does not exist (Service: S3, Status Code: 404")


async def test_lab_rewrites_the_service_table(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    fqdn = f"http://{LOCALSTACK}.floe.svc.cluster.local:4566"
    await polaris_create_catalog(polaris, polaris_s3, endpointInternal=fqdn, **NO_STS)
    polaris_s3.write_services({})  # cluster DNS knows nothing
    broken = await _create_table(polaris)
    assert broken.status_code == 500 and _error(broken)["message"] == UNKNOWN_HOST_MESSAGE

    polaris_s3.default_services()  # the lab puts floe-infra-localstack back
    fixed = await _create_table(polaris)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["config"]["s3.endpoint"] == polaris_s3.endpoint
    assert fixed.json()["metadata-location"].startswith("s3://iceberg-bronze/demo/raw_customers/metadata/00000-")

    # Polaris reads metadata back through the same path: loadTable breaks when the endpoint does.
    polaris_s3.write_services({LOCALSTACK: {"9999": f"127.0.0.1:{polaris_s3.port}"}})
    token = await polaris_token(polaris)
    async with httpx.AsyncClient(base_url=polaris.url, headers={"Authorization": f"Bearer {token}"}) as client:
        loaded = await client.get("/api/catalog/v1/demo_catalog/namespaces/demo/tables/raw_customers")
    assert loaded.status_code == 500
    assert "Connect to floe-infra-localstack.floe.svc.cluster.local:4566" in _error(loaded)["message"]
    assert "Connect timed out" in _error(loaded)["message"]


async def test_pod_without_aws_credentials(polaris_s3: PolarisS3, tmp_path: Path) -> None:
    polaris_s3.default_services()
    config = polaris_config(polaris_s3, tmp_path, aws_access_key_id=None, aws_secret_access_key=None)
    async with run_polaris(config) as running:
        await polaris_create_catalog(running, polaris_s3, **NO_STS)
        response = await _create_table(running)
    assert response.status_code == 500
    assert _error(response)["message"].startswith("Unable to load credentials from any of the providers in the chain")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("this is no STS answer", "Unable to unmarshall response"),  # not XML: the SDK cannot read it
        ('<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
         "</AssumeRoleResult></AssumeRoleResponse>", "holds no usable credentials"),  # parsed, without Credentials
    ],
)  # fmt: skip
async def test_a_malformed_sts_answer_is_422_subscoped_credentials_too(
    polaris: RunningPolaris, polaris_s3: PolarisS3, body: str, said: str
) -> None:
    """An STS that answers 200 with garbage fails table access as one that refuses: 422, never a 500."""

    async def sts(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/", sts)
    async with serve(app) as url:
        port = httpx.URL(url).port
        polaris_s3.write_services({LOCALSTACK: {"4566": f"127.0.0.1:{polaris_s3.port}"},
                                   "floe-infra-sts": {"4566": f"127.0.0.1:{port}"}})  # fmt: skip
        try:
            await polaris_create_catalog(polaris, polaris_s3, stsEndpoint="http://floe-infra-sts:4566")
            answer = await _create_table(polaris)
        finally:
            polaris_s3.default_services()
    assert answer.status_code == 422, answer.text
    assert _error(answer)["type"] == "UnprocessableEntityException"
    assert _error(answer)["message"].startswith("Failed to get subscoped credentials: ")
    assert said in _error(answer)["message"]
