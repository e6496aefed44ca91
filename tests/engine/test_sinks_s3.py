"""The S3 sink against moto's S3 server: the objects a run leaves, where platform.yaml says the bucket is, with the
targets' keys; a bucket that does not exist is a sink error naming S3's own code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import anyio
import boto3  # type: ignore[import-untyped]
import pytest

from floe_agents.config import PlatformConfig, load_targets
from floe_agents.sinks.base import Rendered, SinkContext, SinkError
from floe_agents.sinks.s3 import S3Sink
from floe_agents.sinks.spec import parse_sink
from tests.support.polaris import AWS_KEY, PolarisS3

BUCKET = "floe-agents-reports"
CREDENTIALS = {"s3_access_key_id": AWS_KEY, "s3_secret_access_key": AWS_KEY, "s3_region": "us-east-1"}
REPORT = Rendered("report", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "# ok\n", '{"overall": "ok"}\n', as_json=True)


def _ctx(endpoint: str, bucket: str) -> SinkContext:
    storage = {"reports": {"bucket": bucket, "endpoint": endpoint, "path_style_access": True}}
    return SinkContext(load_targets(None), PlatformConfig.model_validate({"storage": storage}), CREDENTIALS.get)


def _s3(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=AWS_KEY, aws_secret_access_key=AWS_KEY)  # fmt: skip


async def test_the_run_and_the_latest_report_as_objects(polaris_s3: PolarisS3) -> None:
    s3 = _s3(polaris_s3.endpoint)
    s3.create_bucket(Bucket=BUCKET)
    sink = S3Sink(parse_sink(f"s3://{BUCKET}/cronjob/"), _ctx(polaris_s3.endpoint, BUCKET))
    with anyio.fail_after(30):
        where = await sink.write(REPORT)
    assert where == f"s3://{BUCKET}/cronjob/report-20260102T030405.000Z.json"
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="cronjob/")["Contents"])
    assert listed == [
        "cronjob/report-20260102T030405.000Z.json",
        "cronjob/report-latest.json",
        "cronjob/report-latest.md",
    ]
    latest = s3.get_object(Bucket=BUCKET, Key="cronjob/report-latest.json")
    assert json.loads(latest["Body"].read()) == {"overall": "ok"} and latest["ContentType"] == "application/json"
    assert s3.get_object(Bucket=BUCKET, Key="cronjob/report-latest.md")["Body"].read() == b"# ok\n"


async def test_a_missing_bucket_is_a_sink_error_with_s3s_code(polaris_s3: PolarisS3) -> None:
    sink = S3Sink(parse_sink("s3://no-such-bucket/x"), _ctx(polaris_s3.endpoint, "no-such-bucket"))
    with anyio.fail_after(30), pytest.raises(SinkError, match=r"^S3 NoSuchBucket: "):
        await sink.write(REPORT)
