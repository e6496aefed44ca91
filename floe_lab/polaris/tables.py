"""Table create/load/commit/register: where Polaris touches storage and hands storage config to clients.

Why here and not in the handlers: the order of steps is the behaviour. Polaris validates locations (403), gets
subscoped credentials from STS when the catalog uses it (422), does its own metadata I/O through the internal
endpoint (500 ``SdkClientException`` / mapped ``S3Exception``), and only then builds the response: ``config``
carries ``s3.endpoint`` (the *client-facing* ``endpoint``), ``s3.path-style-access``, ``client.region`` and,
when ``X-Iceberg-Access-Delegation: vended-credentials`` was asked for, the vended keys. Asking for vended
credentials from a catalog that cannot vend them is a 400 — after the table was already created, as in Polaris.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pyiceberg.catalog.rest import CreateTableRequest
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC
from pyiceberg.table.metadata import TableMetadata, new_table_metadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER
from pyiceberg.table.update import AssertCreate, SetLocationUpdate, TableRequirement, TableUpdate
from pyiceberg.typedef import Identifier

from floe_lab.polaris import errors, validate
from floe_lab.polaris.model import child_location
from floe_lab.polaris.warehouse import Warehouse, dotted, translated

__all__ = [
    "VENDED_CREDENTIALS",
    "commit_table",
    "create_table",
    "load_credentials",
    "load_table",
    "parse_create",
    "register_table",
]

VENDED_CREDENTIALS = "vended-credentials"
_REQUIREMENTS: TypeAdapter[list[TableRequirement]] = TypeAdapter(list[TableRequirement])
_UPDATES: TypeAdapter[list[TableUpdate]] = TypeAdapter(list[TableUpdate])


def _bad_body(exc: ValidationError) -> errors.PolarisError:
    first = exc.errors()[0] if exc.errors() else {"msg": str(exc), "loc": ()}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return errors.illegal_argument(f"Invalid request body: {where}: {first.get('msg')}")


def _metadata_json(metadata: TableMetadata) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(metadata.model_dump_json())
    return parsed


def _response(
    wh: Warehouse,
    identifier: Identifier,
    metadata: TableMetadata,
    metadata_location: str | None,
    delegation: Collection[str],
) -> dict[str, Any]:
    config: dict[str, str] = {}
    body: dict[str, Any] = {"metadata": _metadata_json(metadata)}
    if metadata_location is not None:  # Iceberg's LoadTableResponseParser writes it only when there is one
        body = {"metadata-location": metadata_location, **body}
    if VENDED_CREDENTIALS in delegation:
        if wh.storage.vended is None:
            raise errors.illegal_argument(
                f"Credential vending was requested for table {dotted(identifier)}, but no credentials are available"
            )
        vended = wh.storage.vended.as_properties()
        config.update(vended)
        body["storage-credentials"] = [{"prefix": metadata.location, "config": vended}]
    config.update(wh.storage.storage.client_config())
    body["config"] = config
    return body


def parse_create(namespace: Identifier, raw: bytes) -> CreateTableRequest:
    """A ``CreateTableRequest`` body, checked as Polaris does before it resolves the catalog."""
    try:
        payload = json.loads(raw or b"{}")
        if not isinstance(payload, dict):
            raise validate.mismatched("org.apache.iceberg.rest.requests.CreateTableRequest", payload)
        for optional in ("location", "partition-spec", "write-order"):  # optional in the REST spec
            payload.setdefault(optional, None)
        payload["properties"] = validate.string_map(payload.get("properties"))
        _check_schema(payload.get("schema"))
        request = CreateTableRequest.model_validate(payload)
    except ValidationError as exc:
        raise _bad_body(exc) from None
    except ValueError as exc:
        raise errors.illegal_argument(f"Invalid request body: {exc}") from None
    validate.namespace_levels(list(namespace))  # EntityNameValidator.validateIdentifier
    validate.iceberg_name(request.name)
    return request


def _check_schema(raw: Any) -> None:
    """What Iceberg's ``SchemaParser`` requires of each field before pydantic sees it."""
    if raw is None:
        raise errors.illegal_argument("Cannot parse missing field: schema")
    if not isinstance(raw, dict):
        raise errors.illegal_argument(f"Cannot parse type from non-object value: {json.dumps(raw)}")
    fields = raw.get("fields")
    if not isinstance(fields, list):
        raise errors.illegal_argument("Cannot parse missing list: fields")
    for field in fields:
        if not isinstance(field, dict):
            raise errors.illegal_argument(f"Cannot parse struct field from non-object: {json.dumps(field)}")
        for key in ("id", "name", "type", "required"):
            if key not in field:
                raise errors.illegal_argument(f"Cannot parse missing field: {key}")


def create_table(
    wh: Warehouse, namespace: Identifier, request: CreateTableRequest, delegation: Collection[str]
) -> dict[str, Any]:
    identifier = (*namespace, request.name)
    wh.require_namespace(namespace)
    if wh.table_exists(identifier):
        raise errors.already_exists(f"Table already exists: {dotted(identifier)}")
    location = (request.location or child_location(wh.namespace_location(namespace), request.name)).rstrip("/")
    locations = wh.table_locations(identifier, location, request.properties)
    wh.storage.subscope(locations, locations)
    spec = request.partition_spec or UNPARTITIONED_PARTITION_SPEC
    order = request.write_order or UNSORTED_SORT_ORDER
    if request.stage_create:
        staged = new_table_metadata(
            location=location,
            schema=request.table_schema,
            partition_spec=spec,
            sort_order=order,
            properties=request.properties,
        )
        return _response(wh, identifier, staged, None, delegation)
    with translated():
        table = wh.sql.create_table(identifier, request.table_schema, location, spec, order, request.properties)
    return _response(wh, identifier, table.metadata, table.metadata_location, delegation)


def load_table(wh: Warehouse, identifier: Identifier, delegation: Collection[str]) -> dict[str, Any]:
    location = wh.require_table(identifier)
    wh.storage.subscope([location], [location])
    with translated():
        table = wh.sql.load_table(identifier)
    return _response(wh, identifier, table.metadata, table.metadata_location, delegation)


def load_credentials(wh: Warehouse, identifier: Identifier) -> dict[str, Any]:
    body = load_table(wh, identifier, {VENDED_CREDENTIALS})
    return {"storage-credentials": body.get("storage-credentials", [])}


def commit_table(wh: Warehouse, identifier: Identifier, raw: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw or b"{}")
        if not isinstance(payload, dict):
            raise validate.mismatched("org.apache.iceberg.rest.requests.UpdateTableRequest", payload)
        requirements = _REQUIREMENTS.validate_python(_listed(payload, "requirements"))
        updates = _UPDATES.validate_python(_listed(payload, "updates"))
    except ValidationError as exc:
        raise _bad_body(exc) from None
    except (ValueError, AttributeError) as exc:
        raise errors.illegal_argument(f"Invalid request body: {exc}") from None
    new_locations = [u.location for u in updates if isinstance(u, SetLocationUpdate)]
    if any(isinstance(r, AssertCreate) for r in requirements) and not wh.table_exists(identifier):
        # The second half of a staged create (pyiceberg's create_table_transaction): the table is born here.
        wh.require_namespace(identifier[:-1])
        location = (new_locations or [child_location(wh.namespace_location(identifier[:-1]), identifier[-1])])[-1]
        wh.storage.subscope(wh.table_locations(identifier, location, {}), [location])
        with translated():
            response = wh.sql.commit_table(_Named(identifier), tuple(requirements), tuple(updates))  # type: ignore[arg-type]
    else:
        location = wh.require_table(identifier)
        wh.storage.subscope([location], [location])
        for new_location in new_locations:
            wh.table_locations(identifier, new_location, {})
        with translated():
            table = wh.sql.load_table(identifier)
            response = wh.sql.commit_table(table, tuple(requirements), tuple(updates))
    return {"metadata-location": response.metadata_location, "metadata": _metadata_json(response.metadata)}


def _listed(payload: Mapping[str, Any], key: str) -> list[Any]:
    value = payload.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise validate.mismatched("java.util.ArrayList", value)
    return value


class _Named:
    """What SqlCatalog.commit_table needs of a table that does not exist yet: its name."""

    def __init__(self, identifier: Identifier) -> None:
        self._identifier = identifier

    def name(self) -> Identifier:
        return self._identifier


def register_table(
    wh: Warehouse, namespace: Identifier, raw: Mapping[str, Any], delegation: Collection[str]
) -> dict[str, Any]:
    name, metadata_location = raw.get("name"), raw.get("metadata-location")
    if not isinstance(name, str) or not name:
        raise errors.illegal_argument("Cannot parse missing string: name")
    if not isinstance(metadata_location, str) or not metadata_location:
        raise errors.illegal_argument("Cannot parse missing string: metadata-location")
    validate.namespace_levels(list(namespace))
    validate.iceberg_name(name)
    identifier = (*namespace, name)
    wh.require_namespace(namespace)
    if wh.table_exists(identifier):
        raise errors.already_exists(f"Table already exists: {dotted(identifier)}")
    wh.table_locations(identifier, metadata_location, {})
    wh.storage.subscope([metadata_location], [])
    with translated():
        table = wh.sql.register_table(identifier, metadata_location)
    return _response(wh, identifier, table.metadata, table.metadata_location, delegation)
