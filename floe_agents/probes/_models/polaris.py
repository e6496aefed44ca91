"""Polaris's own answers (beside the Iceberg REST ones in :mod:`.iceberg`): its Quarkus health checks and the
management API's catalog with its ``storageConfigInfo``."""

from __future__ import annotations

from pydantic import Field, JsonValue, field_validator

from floe_agents.probes._models import Model

__all__ = ["Health", "ManagementCatalog", "StorageConfigInfo"]


class Health(Model):
    """``/q/health/ready`` and ``/q/health/live`` (MicroProfile Health): overall status and each check."""

    status: JsonValue = None
    checks: list[dict[str, JsonValue]] = Field(default_factory=list)

    @field_validator("checks", mode="before")
    @classmethod
    def _only_objects(cls, value: object) -> object:
        return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []


class StorageConfigInfo(Model):
    """How the catalog itself reaches storage, and what it hands to clients."""

    storage_type: str | None = Field(None, alias="storageType")
    endpoint: str | None = None
    endpoint_internal: str | None = Field(None, alias="endpointInternal")
    path_style_access: bool | None = Field(None, alias="pathStyleAccess")
    role_arn: str | None = Field(None, alias="roleArn")
    sts_unavailable: bool | None = Field(None, alias="stsUnavailable")
    sts_endpoint: str | None = Field(None, alias="stsEndpoint")
    region: str | None = None
    allowed_locations: list[str] | None = Field(None, alias="allowedLocations")

    def sts_url(self) -> str:
        """Where the catalog sends AssumeRole: ``stsEndpoint``, else its own S3 endpoint (``endpointInternal``,
        else ``endpoint``), else AWS's regional STS endpoint."""
        own = self.sts_endpoint or self.endpoint_internal or self.endpoint
        return own or f"https://sts.{self.region or 'us-east-1'}.amazonaws.com"


class ManagementCatalog(Model):
    """``GET /api/management/v1/catalogs/{name}``."""

    name: str | None = None
    storage_config_info: StorageConfigInfo = Field(alias="storageConfigInfo")
