"""The running stand-in's state: configuration, database, token broker, cluster DNS, SDK clients, and log.

Why one object: every handler needs the same handful of things, and the brief is "no global mutable state" —
two stand-ins in one test process (or a restart inside one test) must not share tokens, clients or DNS. The log
mimics Polaris's Quarkus console format (access log + ``IcebergExceptionMapper`` lines with the Java cause
chain), because that is where an operator of a real cluster reads which host failed to resolve.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar

import anyio.to_thread
from aiohttp import web
from sqlalchemy import Engine

from floe_lab.polaris.auth import Principal, TokenBroker
from floe_lab.polaris.lab_api import RequestCounter
from floe_lab.polaris.model import CatalogEntity, S3StorageConfig
from floe_lab.polaris.sdk import Credentials, PodSdk
from floe_lab.polaris.storage_io import StorageAccess
from floe_lab.polaris.store import Entity, EntityStore
from floe_lab.polaris.warehouse import Warehouse

__all__ = ["PRINCIPAL", "PolarisState", "ServerLog", "catalog_from_entity", "catalog_to_entity"]

_T = TypeVar("_T")
REALM = "POLARIS"
PRINCIPAL = web.RequestKey("principal", Principal)  # set by the auth middleware on every API request


class ServerLog:
    """Quarkus-style console lines, kept in a bounded buffer and optionally written to a stream."""

    def __init__(self, stream: TextIO | None = None, capacity: int = 5000) -> None:
        self._stream = stream
        self._lines: collections.deque[str] = collections.deque(maxlen=capacity)
        self._lock = threading.Lock()

    def log(self, level: str, logger: str, message: str) -> None:
        now = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        line = f"{now} {level:<5} [{logger}] [,{REALM}] [,,,] (executor-thread-1) {message}"
        with self._lock:
            self._lines.append(line)
            if self._stream is not None:
                self._stream.write(line + "\n")
                self._stream.flush()

    def access(self, remote: str, user: str, request_line: str, status: int, size: int) -> None:
        when = dt.datetime.now(dt.UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        self.log(
            "INFO",
            "io.qua.htt.access-log",
            f'{remote} - {user} [{when}] "{request_line}" {status} {size if size else "-"}',
        )

    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)


def catalog_from_entity(entity: Entity) -> CatalogEntity:
    props = {str(k): str(v) for k, v in entity.payload.get("properties", {}).items()}
    storage = S3StorageConfig.from_json(entity.payload.get("storageConfigInfo", {}), None)
    return CatalogEntity(
        entity.name, props, storage, entity.create_ts, entity.update_ts, entity.entity_version,
        str(entity.payload.get("type", "INTERNAL")),
    )  # fmt: skip


def catalog_to_entity(catalog: CatalogEntity) -> Entity:
    payload = {
        "type": catalog.type,
        "properties": catalog.properties,
        "storageConfigInfo": catalog.storage.to_json(),
    }
    return Entity(
        "catalog", "", catalog.name, payload, catalog.entity_version, catalog.create_timestamp,
        catalog.last_update_timestamp,
    )  # fmt: skip


@dataclass
class PolarisState:
    engine: Engine
    store: EntityStore
    broker: TokenBroker
    sdk: PodSdk
    static_credentials: Credentials | None
    default_region: str
    log: ServerLog
    requests: RequestCounter = field(default_factory=RequestCounter)

    async def run(self, func: Callable[..., _T], *args: Any) -> _T:
        """Blocking work (SQL, S3, STS) off the event loop."""
        return await anyio.to_thread.run_sync(func, *args)

    def catalog(self, name: str) -> CatalogEntity | None:
        entity = self.store.get("catalog", name)
        return None if entity is None else catalog_from_entity(entity)

    def warehouse(self, catalog: CatalogEntity) -> Warehouse:
        storage = StorageAccess(catalog.storage, self.sdk, self.static_credentials, self.default_region)
        return Warehouse(self.engine, catalog, storage)
