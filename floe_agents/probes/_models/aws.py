"""What the S3 store's side channels answer: LocalStack's health route, and the STS calls the s3 probe reads.

boto3 hands back plain dicts; the s3 probe needs two fields of them (who the keys are, which role was assumed)
and, from LocalStack, the state of each service. Typed here so the probe reads attributes, not ``.get`` chains.
"""

from __future__ import annotations

from pydantic import Field, JsonValue

from floe_agents.probes._models import Model

__all__ = ["AssumeRoleResult", "CallerIdentity", "LocalStackHealth"]


class LocalStackHealth(Model):
    """``GET /_localstack/health``: each service's state (and the version). No ``services`` map: not LocalStack."""

    services: dict[str, JsonValue]
    version: JsonValue = None


class CallerIdentity(Model):
    """STS GetCallerIdentity."""

    account: str | None = Field(None, alias="Account")
    arn: str | None = Field(None, alias="Arn")


class _AssumedRoleUser(Model):
    arn: str = Field(alias="Arn")


class AssumeRoleResult(Model):
    """STS AssumeRole: the assumed role's ARN (the temporary credentials are not kept)."""

    assumed_role_user: _AssumedRoleUser = Field(alias="AssumedRoleUser")
