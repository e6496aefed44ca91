"""Floe's platform.yaml, read with Floe's own schema (floe_core ``PlatformSpec``: ``extra=forbid``).

The platform file is the source of truth for *what the platform expects*: which S3 endpoint and buckets, which
catalog URI, warehouse and namespaces, where traces and lineage go and under which service name. Probes compare
reality against it. We model the sections floe-agents reads field by field (so a typo is caught, like Floe does)
and keep the sections it does not read (infrastructure, security, governance, compute) as free mappings.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from floe_agents.config.loading import quote

__all__ = [
    "CatalogProfile",
    "CredentialConfig",
    "LayerConfig",
    "ObservabilityConfig",
    "PlatformConfig",
    "SecretReference",
    "StorageProfile",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SecretReference(_Strict):
    """A secret resolved at run time: env ``UPPER_SNAKE(secret_ref)``, then ``/var/run/secrets/<ref>``."""

    secret_ref: str

    @property
    def env_name(self) -> str:
        return self.secret_ref.upper().replace("-", "_").replace(".", "_")


class CredentialConfig(_Strict):
    mode: Literal["static", "oauth2", "iam_role", "service_account", "vended"] = "static"
    client_id: str | SecretReference | None = None
    client_secret: SecretStr | SecretReference | None = None
    scope: str | None = None
    role_arn: str | None = None
    secret_ref: str | None = None


class StorageProfile(_Strict):
    type: Literal["s3", "gcs", "azure", "local"] = "s3"
    endpoint: str | None = None
    region: str = "us-east-1"
    bucket: str
    path_style_access: bool = False
    credentials: CredentialConfig = Field(default_factory=CredentialConfig)


class CatalogProfile(_Strict):
    type: Literal["polaris", "glue", "nessie", "rest", "hive"] = "polaris"
    uri: str
    warehouse: str
    namespace: str | None = None
    credentials: CredentialConfig = Field(default_factory=CredentialConfig)
    access_delegation: Literal["vended-credentials", "remote-signing", "none"] = "vended-credentials"
    token_refresh_enabled: bool = True
    properties: dict[str, Any] = Field(default_factory=dict)


class LayerConfig(_Strict):
    name: str | None = None
    description: str | None = None
    storage_ref: str | None = None
    catalog_ref: str | None = None
    namespace: str
    retention_days: int | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class ObservabilityConfig(_Strict):
    traces: bool = True
    metrics: bool = True
    lineage: bool = True
    otlp_endpoint: str | None = None
    lineage_endpoint: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    tracing: dict[str, Any] = Field(default_factory=dict)
    metrics_config: dict[str, Any] = Field(default_factory=dict)
    logging: dict[str, Any] = Field(default_factory=dict)
    compute_logs: dict[str, Any] = Field(default_factory=dict)

    @property
    def service_name(self) -> str | None:
        return self.attributes.get("service.name")


class PlatformConfig(_Strict):
    """A Floe platform.yaml (schema version 1.x)."""

    version: str = "1.0.0"
    layers: dict[str, LayerConfig] = Field(default_factory=dict)
    infrastructure: dict[str, Any] = Field(default_factory=dict)
    security: dict[str, Any] = Field(default_factory=dict)
    governance: dict[str, Any] = Field(default_factory=dict)
    storage: dict[str, StorageProfile] = Field(default_factory=dict)
    catalogs: dict[str, CatalogProfile] = Field(default_factory=dict)
    compute: dict[str, Any] = Field(default_factory=dict)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)

    @field_validator("version")
    @classmethod
    def _major_one(cls, value: str) -> str:
        if value.split(".", maxsplit=1)[0] != "1":
            msg = f"unsupported platform.yaml version {quote(value)} (floe-agents reads 1.x)"
            raise ValueError(msg)
        return value

    def urls(self) -> dict[str, str]:
        """Every URL the platform config names, keyed by where it appears (``storage.bronze.endpoint``)."""
        out: dict[str, str] = {}
        for name, store in self.storage.items():
            if store.endpoint:
                out[f"storage.{name}.endpoint"] = store.endpoint
        for name, cat in self.catalogs.items():
            out[f"catalogs.{name}.uri"] = cat.uri
        if self.observability.otlp_endpoint:
            out["observability.otlp_endpoint"] = self.observability.otlp_endpoint
        if self.observability.lineage_endpoint:
            out["observability.lineage_endpoint"] = self.observability.lineage_endpoint
        return out

    def inline_secrets(self) -> list[str]:
        """Secret values written inline in the file (so every output can scrub them)."""
        found: list[str] = []
        for creds in [s.credentials for s in self.storage.values()] + [c.credentials for c in self.catalogs.values()]:
            if isinstance(creds.client_secret, SecretStr):
                found.append(creds.client_secret.get_secret_value())
        return found
