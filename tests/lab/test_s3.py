"""The lab's S3 is a real moto server provisioned like Floe's LocalStack, reached with boto3 over HTTP.

Pinned: the five buckets and ``polaris-storage-role`` (with AmazonS3FullAccess) that ``floe-infra-localstack-
init`` creates, a working STS AssumeRole of that role (what Polaris does when a catalog has a roleArn), data
round-trips with path-style addressing, and LocalStack's ``/_localstack/health`` shape, which moto lacks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import boto3  # type: ignore[import-untyped]
import httpx
import pytest
from botocore.config import Config  # type: ignore[import-untyped]

from floe_lab import procs
from floe_lab.s3 import BUCKETS, LOCALSTACK_ACCOUNT, ROLE_NAME, S3Server, start_s3, stop_s3
from tests.support.processes import assert_nothing_left

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
async def real_s3(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[S3Server]:
    state = tmp_path_factory.mktemp("s3")
    server = await start_s3(state)
    try:
        yield server
    finally:
        await procs.stop_all(state)
    assert_nothing_left(state, [server.record.ports["api"]])


def _client(server: S3Server, service: str, config: Config | None = None) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=server.region,
        config=config,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
    )


async def test_buckets_exist(real_s3: S3Server) -> None:
    listed = await anyio.to_thread.run_sync(lambda: _client(real_s3, "s3").list_buckets()["Buckets"])
    assert {b["Name"] for b in listed} == set(BUCKETS)


async def test_role_with_s3_full_access(real_s3: S3Server) -> None:
    iam = _client(real_s3, "iam")
    role = await anyio.to_thread.run_sync(lambda: iam.get_role(RoleName=ROLE_NAME)["Role"])
    assert role["Arn"] == f"arn:aws:iam::{LOCALSTACK_ACCOUNT}:role/{ROLE_NAME}" == real_s3.role_arn
    attached = await anyio.to_thread.run_sync(lambda: iam.list_attached_role_policies(RoleName=ROLE_NAME))
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]


async def test_sts_assume_role_vends_credentials(real_s3: S3Server) -> None:
    sts = _client(real_s3, "sts")
    answer = await anyio.to_thread.run_sync(
        lambda: sts.assume_role(RoleArn=real_s3.role_arn, RoleSessionName="polaris-credential-vending")
    )
    assert answer["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{ROLE_NAME}/polaris-credential-vending")
    creds = answer["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert creds["SessionToken"]


async def test_objects_round_trip_path_style_and_stay_private(real_s3: S3Server) -> None:
    s3 = _client(real_s3, "s3", Config(s3={"addressing_style": "path"}))
    key = "demo/raw_customers/data/x.parquet"
    await anyio.to_thread.run_sync(lambda: s3.put_object(Bucket="iceberg-bronze", Key=key, Body=b"PAR1"))

    def read_back() -> bytes:
        return bytes(s3.get_object(Bucket="iceberg-bronze", Key=key)["Body"].read())

    assert await anyio.to_thread.run_sync(read_back) == b"PAR1"
    async with httpx.AsyncClient() as client:  # an unsigned request is anonymous, and the bucket is private
        res = await client.get(f"{real_s3.endpoint}/iceberg-bronze/{key}")
    assert res.status_code == 403


async def test_localstack_health_route(real_s3: S3Server) -> None:
    async with httpx.AsyncClient() as client:
        res = await client.get(f"{real_s3.endpoint}/_localstack/health")
        head = await client.head(f"{real_s3.endpoint}/_localstack/health")
        moto_root = await client.get(f"{real_s3.endpoint}/")
    assert res.status_code == 200
    body = res.json()
    assert body["services"] == {"s3": "running", "sts": "running", "iam": "running"}
    assert body["edition"] == "community"
    assert body["version"].startswith("moto-")
    assert head.status_code == 200
    assert head.content == b""
    assert b"ListAllMyBucketsResult" in moto_root.content  # everything else is still moto's S3


async def test_client_env_points_sdks_at_the_server(real_s3: S3Server) -> None:
    env = real_s3.client_env()
    assert env["AWS_ENDPOINT_URL"] == real_s3.endpoint
    assert env["AWS_ACCESS_KEY_ID"] == "test"


async def test_stop_leaves_nothing(tmp_path: Path) -> None:
    server = await start_s3(tmp_path)
    result = await stop_s3(tmp_path, server)
    assert result.how == "signal"
    assert_nothing_left(tmp_path, [server.record.ports["api"]])
