"""The Iceberg REST catalog's answers (Polaris serves them under ``/api/catalog``): OAuth token, errors, config,
namespace, load-table, and the table metadata file a client then reads from S3.

Shapes follow the Iceberg REST OpenAPI spec; a field the probes tolerate missing has a default.
"""

from __future__ import annotations

from pydantic import Field, JsonValue, field_validator

from floe_agents.probes._models import Model

__all__ = ["CatalogConfig", "ErrorBody", "ErrorDetail", "LoadTable", "NamespaceAnswer", "TableMetadata", "Token"]


class Token(Model):
    """``POST /v1/oauth/tokens`` (client credentials)."""

    access_token: str = ""


class ErrorDetail(Model):
    """Iceberg's ErrorModel: ``{"error": {"message", "type", "code", "stack"}}``."""

    type: str | None = None
    message: str | None = None
    stack: list[str] | None = None


class ErrorBody(Model):
    """An error answer: Iceberg's ErrorModel, or an RFC 6749 OAuth error (``error`` a string)."""

    error: ErrorDetail | str | None = None
    error_description: str | None = None

    def evidence(self) -> dict[str, object] | None:
        """The error flattened for evidence, or None when the body carries no error."""
        if isinstance(self.error, ErrorDetail):
            return {"error_type": self.error.type, "message": self.error.message, "stack": self.error.stack}
        if isinstance(self.error, str):
            return {"error_type": self.error, "message": self.error_description}
        return None


class CatalogConfig(Model):
    """``GET /v1/config?warehouse=W``: Polaris hands out the URL ``prefix`` (the warehouse name) in overrides."""

    overrides: dict[str, str] | None = None


class NamespaceAnswer(Model):
    """``GET /v1/{prefix}/namespaces/{ns}``."""

    properties: dict[str, str] | None = None


class LoadTable(Model):
    """``GET /v1/{prefix}/namespaces/{ns}/tables/{t}``: where the metadata is, and the client config handed out
    (``s3.endpoint``, vended keys ...), which takes precedence over the client's own settings."""

    metadata_location: str = Field(alias="metadata-location")
    config: dict[str, str] = Field(default_factory=dict)

    @field_validator("config", mode="before")
    @classmethod
    def _as_strings(cls, value: object) -> object:
        """Every config value as the string a client reads (a JSON true is ``"True"``, as str() says)."""
        if value is None:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else value


class TableMetadata(Model):
    """The metadata JSON file a table's ``metadata-location`` names."""

    format_version: int | None = Field(alias="format-version")
    snapshots: list[JsonValue] | None = None
