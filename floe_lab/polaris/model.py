"""Polaris's catalog entity and its S3 storage config, in the management API's JSON shape.

Why: the endpoint fault lives in these fields. ``storageConfigInfo.endpoint`` is what Polaris hands clients,
``endpointInternal`` what Polaris itself uses, ``stsEndpoint``/``stsUnavailable``/``roleArn`` decide whether it
calls STS first, ``pathStyleAccess`` whether the SDK asks for ``<bucket>.<host>``. Keeping the parsing, the
JSON rendering and the location rules (default locations, the ``allowedLocations`` check and its
``ForbiddenException`` text) in one place keeps the REST handlers free of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from floe_lab.polaris import errors, validate

__all__ = [
    "DEFAULT_BASE_LOCATION",
    "CatalogEntity",
    "S3StorageConfig",
    "check_locations",
    "child_location",
    "parse_catalog",
]

DEFAULT_BASE_LOCATION = "default-base-location"
_S3_FIELDS = (
    ("roleArn", "role_arn"),
    ("externalId", "external_id"),
    ("userArn", "user_arn"),
    ("region", "region"),
    ("endpoint", "endpoint"),
    ("stsEndpoint", "sts_endpoint"),
    ("stsUnavailable", "sts_unavailable"),
    ("endpointInternal", "endpoint_internal"),
    ("pathStyleAccess", "path_style_access"),
)


@dataclass(frozen=True)
class S3StorageConfig:
    """``AwsStorageConfigInfo``: absent optional fields stay ``None`` and are omitted from JSON."""

    allowed_locations: tuple[str, ...] = ()
    role_arn: str | None = None
    external_id: str | None = None
    user_arn: str | None = None
    region: str | None = None
    endpoint: str | None = None
    sts_endpoint: str | None = None
    sts_unavailable: bool | None = None
    endpoint_internal: str | None = None
    path_style_access: bool | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], base_location: str | None) -> S3StorageConfig:
        storage_type = str(raw.get("storageType", ""))
        if storage_type != "S3":
            raise errors.illegal_argument(f"Unsupported storage type: {storage_type or None}")
        allowed = validate.string_list(raw.get("allowedLocations"))
        if base_location and base_location.rstrip("/") not in {a.rstrip("/") for a in allowed}:
            allowed.insert(0, base_location)  # Polaris always allows the catalog's own base location
        values: dict[str, Any] = {}
        for json_key, attr in _S3_FIELDS:
            value = raw.get(json_key)
            if value is not None and attr in ("sts_unavailable", "path_style_access"):
                value = value if isinstance(value, bool) else str(value).lower() == "true"
            elif value is not None:
                value = str(value)
            values[attr] = value
        return cls(allowed_locations=tuple(allowed), **values)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"storageType": "S3", "allowedLocations": list(self.allowed_locations)}
        for json_key, attr in _S3_FIELDS:
            value = getattr(self, attr)
            if value is not None:
                out[json_key] = value
        return out

    @property
    def internal_endpoint(self) -> str | None:
        """What Polaris uses for its own S3 I/O: ``endpointInternal``, else ``endpoint``."""
        return self.endpoint_internal or self.endpoint

    @property
    def sts_target(self) -> str | None:
        """Where Polaris sends AssumeRole: ``stsEndpoint``, else the internal S3 endpoint."""
        return self.sts_endpoint or self.internal_endpoint

    @property
    def uses_sts(self) -> bool:
        """Whether Polaris subscopes credentials through STS before touching storage."""
        return bool(self.role_arn) and self.sts_unavailable is not True

    def client_config(self) -> dict[str, str]:
        """The non-credential properties Polaris adds to a loadTable/createTable ``config``."""
        out: dict[str, str] = {}
        if self.region:
            out["client.region"] = self.region
        if self.path_style_access:
            out["s3.path-style-access"] = "true"
        if self.endpoint:
            out["s3.endpoint"] = self.endpoint
        return out


@dataclass(frozen=True)
class CatalogEntity:
    """A catalog as the management API shows it (``type`` is always INTERNAL here)."""

    name: str
    properties: dict[str, str]
    storage: S3StorageConfig
    create_timestamp: int = 0
    last_update_timestamp: int = 0
    entity_version: int = 1
    type: str = "INTERNAL"

    @property
    def base_location(self) -> str:
        return self.properties.get(DEFAULT_BASE_LOCATION, "")

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "properties": dict(self.properties),
            "createTimestamp": self.create_timestamp,
            "lastUpdateTimestamp": self.last_update_timestamp,
            "entityVersion": self.entity_version,
            "storageConfigInfo": self.storage.to_json(),
        }

    def updated(
        self, properties: Mapping[str, str] | None, storage: Mapping[str, Any] | None, now: int
    ) -> CatalogEntity:
        """``PolarisAdminService.updateCatalog``: a missing base location in new properties means unchanged."""
        props = dict(self.properties)
        if properties is not None:
            props = {str(k): str(v) for k, v in properties.items()}
            if not props.get(DEFAULT_BASE_LOCATION):
                props[DEFAULT_BASE_LOCATION] = self.base_location
        new_storage = self.storage
        if storage is not None:
            new_storage = S3StorageConfig.from_json(storage, props.get(DEFAULT_BASE_LOCATION))
        return replace(
            self,
            properties=props,
            storage=new_storage,
            last_update_timestamp=now,
            entity_version=self.entity_version + 1,
        )


def parse_catalog(raw: Any, now: int) -> CatalogEntity:
    """A new catalog from a ``CreateCatalogRequest`` body's ``catalog`` object."""
    if raw is None:
        raise errors.PolarisError(
            400, "ConstraintViolationException", "Invalid value: createCatalog.request.catalog: must not be null"
        )
    if not isinstance(raw, dict):
        raise validate.mismatched("org.apache.polaris.core.admin.model.Catalog", raw)
    name = validate.entity_name(raw.get("name"), "createCatalog.request.catalog.name")
    catalog_type = str(raw.get("type", "INTERNAL")).upper()
    if catalog_type != "INTERNAL":
        raise errors.illegal_argument(f"Unsupported catalog type for this stand-in: {catalog_type}")
    props = validate.string_map(raw.get("properties"))
    if not props.get(DEFAULT_BASE_LOCATION):
        raise errors.bad_request(f"Invalid value: properties.{DEFAULT_BASE_LOCATION} must not be null")
    storage_raw = validate.object_field(
        raw, "storageConfigInfo", "org.apache.polaris.core.admin.model.StorageConfigInfo"
    )
    if storage_raw is None:
        raise errors.bad_request("Invalid value: storageConfigInfo must not be null")
    storage = S3StorageConfig.from_json(storage_raw, props[DEFAULT_BASE_LOCATION])
    return CatalogEntity(name, props, storage, now, now, 1)


def child_location(parent: str, name: str) -> str:
    """Polaris's default location for a child namespace (trailing slash) or table (none)."""
    return f"{parent.rstrip('/')}/{name}"


def _normalized(location: str) -> str:
    scheme, sep, rest = location.partition("://")
    if sep and scheme in ("s3a", "s3n"):
        scheme = "s3"
    return f"{scheme}{sep}{rest.rstrip('/')}/"


def check_locations(identifier: str, locations: Sequence[str], allowed: Iterable[str]) -> None:
    """``CatalogUtils.validateLocationsForTableLike``: every location must lie under an allowed location."""
    allowed_list = list(allowed)
    prefixes = [_normalized(a) for a in allowed_list]
    for location in locations:
        if not any(_normalized(location).startswith(p) for p in prefixes):
            raise errors.forbidden(
                f"Invalid locations '[{', '.join(locations)}]' for identifier '{identifier}': {location} "
                f"is not in the list of allowed locations: [{', '.join(allowed_list)}]"
            )
