"""catalog_sts follow-up: the Polaris stand-in in-process over real moto STS, for each way credential vending can
be set up (not used, working, an STS host the cluster cannot resolve), plus a catalog that does not answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.probes._models.polaris import StorageConfigInfo
from floe_agents.probes.catalog_sts import catalog_sts
from floe_lab.polaris import RunningPolaris
from tests.support.net import closed_port
from tests.support.polaris import (
    AWS_KEY,
    CLIENT_ID,
    CLIENT_SECRET,
    LOCALSTACK,
    ROLE_ARN,
    PolarisS3,
    ctx_for,
    polaris_create_catalog,
    standin_components,
)
from tests.support.probes import run_probe

CREDS = {
    "polaris_client_id": CLIENT_ID,
    "polaris_client_secret": CLIENT_SECRET,
    "s3_access_key_id": AWS_KEY,
    "s3_secret_access_key": AWS_KEY,
}
CLUSTER_HOSTS = {LOCALSTACK: "10.96.0.20", "floe-infra-polaris": "10.96.0.21"}


def trigger(ctx: ProbeContext) -> Finding:
    return ctx.for_component("iceberg").finding(
        Status.FAIL, "iceberg.catalog_storage_failed", "loadTable failed in the catalog's S3 I/O", subject="demo.raw"
    )


async def sts_findings(polaris: RunningPolaris, s3: PolarisS3, http: httpx.AsyncClient) -> list[Finding]:
    ctx = ctx_for(http, "iceberg", standin_components(polaris, s3), credentials=CREDS, cluster_hosts=CLUSTER_HOSTS)
    return await run_probe(catalog_sts, ctx, trigger(ctx))


@pytest.mark.parametrize(
    ("storage", "code", "status"),
    [
        ({"stsUnavailable": True}, "sts.not_used", Status.OK),
        ({"roleArn": None}, "sts.not_used", Status.OK),
        ({}, "sts.assume_role_ok", Status.OK),  # AssumeRole at floe-infra-localstack (moto's STS)
        ({"stsEndpoint": "https://sts.us-east-1.amazonaws.com"}, "sts.assume_role_failed", Status.FAIL),
    ],
    ids=["sts-unavailable", "no-role", "vends", "sts-host-not-in-cluster"],
)
async def test_credential_vending_setups(
    polaris: RunningPolaris,
    polaris_s3: PolarisS3,
    http: httpx.AsyncClient,
    storage: dict[str, Any],
    code: str,
    status: Status,
) -> None:
    assert (await polaris_create_catalog(polaris, polaris_s3, **storage)).status_code == 201
    [finding] = await sts_findings(polaris, polaris_s3, http)
    assert (finding.code, finding.status, finding.component) == (code, status, "polaris")
    assert finding.evidence["trigger"] == "iceberg.catalog_storage_failed"
    if code == "sts.assume_role_ok":
        assert finding.evidence["role_arn"] == ROLE_ARN
        assert finding.evidence["sts_host"] == LOCALSTACK
        assert finding.evidence["called"].startswith(polaris_s3.endpoint)  # translated to our vantage
        assert finding.evidence["assumed_arn"].endswith("/floe-agents-probe")
    if code == "sts.assume_role_failed":
        assert finding.evidence["reason"] == "sts host unresolvable in the cluster"
        assert finding.evidence["sts_host"] == "sts.us-east-1.amazonaws.com"


async def test_missing_catalog_and_unreachable_catalog_are_unverified(
    polaris: RunningPolaris, polaris_s3: PolarisS3, http: httpx.AsyncClient
) -> None:
    [missing] = await sts_findings(polaris, polaris_s3, http)  # no catalog created
    assert (missing.code, missing.status) == ("sts.unverified", Status.UNKNOWN)
    assert "storage config unreadable" in missing.summary
    components = standin_components(polaris, polaris_s3)
    components["polaris"]["endpoints"]["api"]["urls"]["local"] = f"http://127.0.0.1:{closed_port()}"
    ctx = ctx_for(http, "iceberg", components, credentials=CREDS, cluster_hosts=CLUSTER_HOSTS)
    [down] = await run_probe(catalog_sts, ctx, trigger(ctx))
    assert (down.code, down.status) == ("sts.unverified", Status.UNKNOWN)
    assert down.evidence["reason"] == "refused"


def sts_url(**storage: str) -> str:
    return StorageConfigInfo.model_validate(storage).sts_url()


def test_sts_endpoint_order() -> None:
    assert sts_url(stsEndpoint="http://sts:1", endpoint="http://s3:2") == "http://sts:1"
    assert sts_url(endpointInternal="http://in:3", endpoint="http://s3:2") == "http://in:3"
    assert sts_url(endpoint="http://s3:2") == "http://s3:2"
    assert sts_url(region="eu-west-1") == "https://sts.eu-west-1.amazonaws.com"
