"""Typed answers of the Polaris management API and Iceberg REST, as the catalog remediations read them.

Why typed: a remediation decides what to write from what it read; reading a field that is not there (an older
server, an error body with status 200) must be a one-line :class:`RemediationError` naming the field, not a
``KeyError`` deep in a plan. Models allow extra fields, so what we do not read rides along (a storage config's
``externalId`` is sent back as it was).
"""

from __future__ import annotations

from typing import TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from floe_agents.heal_context import RemediationError

__all__ = [
    "ConfigAnswer",
    "GrantsAnswer",
    "ManagementCatalog",
    "RolesAnswer",
    "StorageConfig",
    "TablesAnswer",
    "TokenAnswer",
    "read",
]


class StorageConfig(BaseModel):
    """``storageConfigInfo`` as the management API shows it; fields we do not touch ride along unchanged."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    storage_type: str = Field(alias="storageType")
    allowed_locations: list[str] = Field(default_factory=list, alias="allowedLocations")
    endpoint: str | None = None
    endpoint_internal: str | None = Field(default=None, alias="endpointInternal")
    path_style_access: bool | None = Field(default=None, alias="pathStyleAccess")
    role_arn: str | None = Field(default=None, alias="roleArn")
    sts_endpoint: str | None = Field(default=None, alias="stsEndpoint")
    sts_unavailable: bool | None = Field(default=None, alias="stsUnavailable")
    region: str | None = None

    def body(self) -> dict[str, JsonValue]:
        """The JSON the management API takes (absent optional fields omitted)."""
        out: dict[str, JsonValue] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return out


class ManagementCatalog(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str
    type: str = "INTERNAL"
    properties: dict[str, str] = Field(default_factory=dict)
    entity_version: int = Field(alias="entityVersion")
    storage_config_info: StorageConfig = Field(alias="storageConfigInfo")


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TokenAnswer(_Answer):
    access_token: str


class ConfigAnswer(_Answer):
    overrides: dict[str, str] = Field(default_factory=dict)


class Grant(_Answer):
    type: str
    privilege: str


class GrantsAnswer(_Answer):
    grants: list[Grant] = Field(default_factory=list)


class NamedRole(_Answer):
    name: str


class RolesAnswer(_Answer):
    roles: list[NamedRole] = Field(default_factory=list)


class TableIdentifier(_Answer):
    namespace: list[str]
    name: str


class TablesAnswer(_Answer):
    identifiers: list[TableIdentifier] = Field(default_factory=list)
    next_page_token: str | None = Field(default=None, alias="next-page-token")


A = TypeVar("A", bound=BaseModel)


def read(ans: httpx.Response, model: type[A], what: str) -> A:
    """``ans``'s JSON body as ``model``, or a one-line :class:`RemediationError` saying it is not that."""
    try:
        return model.model_validate_json(ans.content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise RemediationError(f"{what}: unexpected answer (HTTP {ans.status_code}): {where}: {first['msg']}") from None
