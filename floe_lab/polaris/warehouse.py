"""One Polaris catalog ("warehouse") as Iceberg sees it: namespaces and table pointers in pyiceberg's SqlCatalog.

Why SqlCatalog: Iceberg's semantics (metadata files, commit requirements, pointer swaps, namespace properties)
are subtle, and pyiceberg already implements them against SQLAlchemy; the stand-in adds what Polaris adds on
top — exact namespace existence with parents required, a ``location`` on every namespace, Polaris's error
texts — and swaps the FileIO for the catalog pod's S3 path. All methods block (SQL and S3); the server calls
them from worker threads. One instance serves one request, sharing the server's engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pyiceberg.catalog import MetastoreCatalog
from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.io import PY_IO_IMPL, FileIO
from pyiceberg.typedef import EMPTY_DICT, Identifier, Properties
from sqlalchemy import Engine, select

from floe_lab.polaris import errors
from floe_lab.polaris.fileio import STORAGE_PROPERTY, StandInFileIO
from floe_lab.polaris.model import CatalogEntity, check_locations, child_location
from floe_lab.polaris.storage_io import StorageAccess

__all__ = ["Warehouse", "dotted"]

_FILE_IO = f"{StandInFileIO.__module__}.{StandInFileIO.__qualname__}"
_MINIMAL = "exists"  # SqlCatalog's placeholder property for a namespace created without properties


def dotted(parts: Identifier) -> str:
    """How Polaris prints a namespace or table identifier in messages."""
    return ".".join(parts)


class _SqlWarehouse(SqlCatalog):
    """SqlCatalog on a shared engine whose FileIO is the pod's S3 path, whatever table properties say."""

    def __init__(self, name: str, engine: Engine, storage: StorageAccess) -> None:
        MetastoreCatalog.__init__(self, name, uri="polaris-stand-in://shared-engine", **{PY_IO_IMPL: _FILE_IO})
        self.properties[STORAGE_PROPERTY] = storage
        self.engine = engine
        self._init_catalog()

    def _load_file_io(self, properties: Properties = EMPTY_DICT, location: str | None = None) -> FileIO:
        return StandInFileIO(self.properties)


@contextmanager
def translated() -> Iterator[None]:
    """pyiceberg's exceptions -> Polaris's (status, type, message)."""
    try:
        yield
    except NoSuchNamespaceError as exc:
        raise errors.PolarisError(404, "NoSuchNamespaceException", str(exc)) from None
    except NoSuchTableError as exc:
        raise errors.PolarisError(404, "NoSuchTableException", str(exc)) from None
    except (TableAlreadyExistsError, NamespaceAlreadyExistsError) as exc:
        raise errors.already_exists(str(exc)) from None
    except CommitFailedException as exc:
        raise errors.commit_failed(str(exc)) from None
    except errors.SdkError as exc:
        raise errors.storage_error(exc) from None
    except ValueError as exc:
        raise errors.PolarisError(400, "ValidationException", str(exc)) from None


class Warehouse:
    """Namespace and table-pointer operations of one catalog, with Polaris's rules and messages."""

    def __init__(self, engine: Engine, entity: CatalogEntity, storage: StorageAccess) -> None:
        self.entity = entity
        self.storage = storage
        self.sql = _SqlWarehouse(entity.name, engine, storage)

    # --- namespaces -------------------------------------------------------------------------------------------
    def namespace_properties(self, namespace: Identifier) -> dict[str, str] | None:
        """Properties of exactly this namespace, or ``None`` (children alone do not make it exist)."""
        if not namespace or any(not level.strip() for level in namespace):
            return None  # a blank level was never creatable (EntityNameValidator), so it does not exist
        try:
            props = self.sql.load_namespace_properties(namespace)
        except NoSuchNamespaceError:
            return None
        return {k: v for k, v in props.items() if k != _MINIMAL} if props else None

    def require_namespace(self, namespace: Identifier) -> dict[str, str]:
        props = self.namespace_properties(namespace)
        if props is None:
            raise errors.no_such_namespace(dotted(namespace))
        return props

    def namespace_location(self, namespace: Identifier) -> str:
        if not namespace:
            return self.entity.base_location
        props = self.require_namespace(namespace)
        return props.get("location") or child_location(self.namespace_location(namespace[:-1]), namespace[-1]) + "/"

    def list_namespaces(self, parent: Identifier) -> list[Identifier]:
        if parent:
            self.require_namespace(parent)
        with translated():
            found = self.sql.list_namespaces(parent)
        return sorted(ns for ns in found if self.namespace_properties(ns) is not None)

    def create_namespace(self, namespace: Identifier, properties: Mapping[str, str]) -> dict[str, str]:
        if not namespace:
            raise errors.bad_request("Cannot create namespace with empty name", "IllegalArgumentException")
        if self.namespace_properties(namespace) is not None:
            raise errors.already_exists(f"Namespace already exists: {dotted(namespace)}")
        if len(namespace) > 1 and self.namespace_properties(namespace[:-1]) is None:
            raise errors.no_such_namespace(dotted(namespace[:-1]))
        props = dict(properties)
        if not props.get("location"):
            props["location"] = child_location(self.namespace_location(namespace[:-1]), namespace[-1]) + "/"
        check_locations(dotted(namespace), [props["location"]], self.entity.storage.allowed_locations)
        with translated():
            if self.sql.namespace_exists(namespace):  # only implied by children: add the row ourselves
                self.sql.update_namespace_properties(namespace, updates=props)
            else:
                self.sql.create_namespace(namespace, props)
        return props

    def drop_namespace(self, namespace: Identifier) -> None:
        self.require_namespace(namespace)
        with translated():
            children = self.list_namespaces(namespace)
            if children or self.sql.list_tables(namespace):
                raise errors.PolarisError(  # IcebergExceptionMapper: NamespaceNotEmptyException -> 409
                    409, "NamespaceNotEmptyException", f"Namespace {dotted(namespace)} is not empty"
                )
            self.sql.drop_namespace(namespace)

    def update_namespace(
        self, namespace: Identifier, removals: list[str], updates: Mapping[str, str]
    ) -> dict[str, list[str]]:
        current = self.require_namespace(namespace)
        overlap = set(removals) & set(updates)
        if overlap:
            raise errors.PolarisError(
                422, "UnprocessableEntityException", f"Duplicate key to update and remove: {sorted(overlap)}"
            )
        if "location" in updates:
            check_locations(dotted(namespace), [updates["location"]], self.entity.storage.allowed_locations)
        with translated():
            self.sql.update_namespace_properties(
                namespace, removals={r for r in removals if r in current}, updates=dict(updates)
            )
        return {
            "updated": sorted(updates),
            "removed": sorted(r for r in removals if r in current),
            "missing": sorted(r for r in removals if r not in current),
        }

    # --- table pointers ---------------------------------------------------------------------------------------
    def list_tables(self, namespace: Identifier) -> list[Identifier]:
        self.require_namespace(namespace)
        with translated():
            return sorted(self.sql.list_tables(namespace))

    def metadata_pointer(self, identifier: Identifier) -> str | None:
        """The table's current metadata location as stored (no storage I/O), or ``None``."""
        stmt = select(IcebergTables.metadata_location).where(
            IcebergTables.catalog_name == self.entity.name,
            IcebergTables.table_namespace == dotted(identifier[:-1]),
            IcebergTables.table_name == identifier[-1],
        )
        with self.sql.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else str(row[0] or "")

    def table_exists(self, identifier: Identifier) -> bool:
        self.require_namespace(identifier[:-1])
        return self.metadata_pointer(identifier) is not None

    def require_table(self, identifier: Identifier) -> str:
        """The table's location (from its metadata pointer); 404 when it does not exist."""
        pointer = self.metadata_pointer(identifier) if self.namespace_properties(identifier[:-1]) else None
        if pointer is None:
            raise errors.no_such_table(dotted(identifier))
        head, sep, _ = pointer.rpartition("/metadata/")
        return head if sep else child_location(self.namespace_location(identifier[:-1]), identifier[-1])

    def drop_table(self, identifier: Identifier) -> None:
        self.require_table(identifier)
        with translated():
            self.sql.drop_table(identifier)

    def rename_table(self, source: Identifier, destination: Identifier) -> None:
        self.require_table(source)
        self.require_namespace(destination[:-1])
        if self.table_exists(destination):
            raise errors.already_exists(
                f"Cannot rename {dotted(source)} to {dotted(destination)}. Table already exists"
            )
        with translated():
            self.sql.rename_table(source, destination)

    def table_locations(self, identifier: Identifier, location: str, properties: Mapping[str, Any]) -> list[str]:
        """Every location a table would use, checked against the catalog and its namespace like Polaris."""
        locations = [location]
        for key in ("write.data.path", "write.metadata.path"):
            if properties.get(key):
                locations.append(str(properties[key]))
        check_locations(dotted(identifier), locations, self.entity.storage.allowed_locations)
        namespace_location = self.namespace_location(identifier[:-1]).rstrip("/")
        check_locations(dotted(identifier), locations, [namespace_location])
        return locations
