"""The report as S3 objects: ``s3://BUCKET/PREFIX/report-<UTC time>.json`` per run, and ``report-latest.json`` /
``report-latest.md`` beside it (``heal-...`` for heal); expiry is the bucket's lifecycle rules' job.

Where and as whom, the way the rest of floe-agents talks to S3: the endpoint, region and addressing style of the
platform.yaml storage profile naming this bucket, else boto3's own (``AWS_ENDPOINT_URL_S3``, ``AWS_REGION``, AWS
itself); the access key of the targets file (``credentials.s3_access_key_id`` / ``s3_secret_access_key``) or
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, else boto3's credential chain (a pod's web identity, a
profile). boto3 blocks, so each upload runs in a worker thread under botocore's connect/read timeouts, abandoned
past :data:`CALL_TIMEOUT_S`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from floe_agents.sinks.base import Rendered, SinkContext, SinkError, entry_names
from floe_agents.sinks.spec import SinkSpec

__all__ = ["CALL_TIMEOUT_S", "S3Sink"]

CALL_TIMEOUT_S = 10.0  # the three uploads together


@dataclass(frozen=True)
class S3Sink:
    spec: SinkSpec
    ctx: SinkContext

    def _client(self) -> Any:
        import boto3  # type: ignore[import-untyped]  # noqa: PLC0415 - heavy: only an S3 sink loads it
        from botocore.config import Config  # type: ignore[import-untyped]  # noqa: PLC0415

        storage = self.ctx.platform.storage.values() if self.ctx.platform is not None else ()
        profile = next((p for p in storage if p.bucket == self.spec.target), None)
        region = (profile.region if profile else None) or self.ctx.credential("s3_region")
        style = "path" if profile is not None and (profile.path_style_access or profile.endpoint) else "auto"
        config = Config(connect_timeout=3, read_timeout=5, retries={"total_max_attempts": 2},
                        s3={"addressing_style": style})  # fmt: skip
        key, secret = self.ctx.credential("s3_access_key_id"), self.ctx.credential("s3_secret_access_key")
        session = boto3.session.Session(
            aws_access_key_id=key if key and secret else None,
            aws_secret_access_key=secret if key and secret else None,
            region_name=region,
        )
        return session.client("s3", endpoint_url=profile.endpoint if profile else None, config=config)

    def _upload(self, report: Rendered) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]  # noqa: PLC0415

        entry, latest_json, latest_md = entry_names(report)
        prefix = f"{self.spec.prefix}/" if self.spec.prefix else ""
        objects = ((entry, report.json, "application/json"), (latest_json, report.json, "application/json"),
                   (latest_md, report.markdown, "text/markdown; charset=utf-8"))  # fmt: skip
        try:
            s3 = self._client()
            for name, text, content_type in objects:
                s3.put_object(Bucket=self.spec.target, Key=prefix + name, Body=text.encode(), ContentType=content_type)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise SinkError(f"S3 {error.get('Code', '?')}: {error.get('Message') or exc}") from None
        except BotoCoreError as exc:
            raise SinkError(f"S3: {exc}") from None

    async def write(self, report: Rendered) -> str:
        try:
            with anyio.fail_after(CALL_TIMEOUT_S):
                await anyio.to_thread.run_sync(self._upload, report, abandon_on_cancel=True)
        except TimeoutError:
            raise SinkError(f"S3 did not answer within {CALL_TIMEOUT_S:g}s") from None
        return f"{self.spec.describe()}/{entry_names(report)[0]}"
