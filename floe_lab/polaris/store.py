"""Polaris's own entities (catalogs, principals, roles, grants) in the same database as the Iceberg tables.

Why in the database and not in memory: Floe's upstream Polaris ran in-memory, so a pod restart silently lost
``demo_catalog`` and every client then saw ``Unable to find warehouse``. The lab must be able to show both
worlds, and a stand-in that persists like Polaris's ``relational-jdbc`` backend makes the difference a matter of
configuration (a throwaway sqlite file vs. the lab's Postgres). Two small tables hold everything: ``entities``
(kind, scope, name -> JSON payload with Polaris's ``entityVersion`` and timestamps) and ``links`` (role
assignments and grants). Blocking calls; the server runs them in worker threads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

__all__ = ["Entity", "EntityStore"]

_METADATA = MetaData()
_ENTITIES = Table(
    "polaris_standin_entities",
    _METADATA,
    Column("kind", String(32), primary_key=True),
    Column("scope", String(1024), primary_key=True),  # names may be 256 characters (the spec's maxLength)
    Column("name", String(1024), primary_key=True),
    Column("payload", Text, nullable=False),
    Column("entity_version", Integer, nullable=False),
    Column("create_ts", BigInteger, nullable=False),
    Column("update_ts", BigInteger, nullable=False),
)
_LINKS = Table(
    "polaris_standin_links",
    _METADATA,
    Column("kind", String(32), primary_key=True),
    Column("left_key", String(2048), primary_key=True),
    Column("right_key", String(4096), primary_key=True),
)


@dataclass(frozen=True)
class Entity:
    kind: str
    scope: str
    name: str
    payload: dict[str, Any]
    entity_version: int
    create_ts: int
    update_ts: int


class EntityStore:
    """CRUD with optimistic concurrency on ``entity_version``, as Polaris's metastore manager offers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_tables(self) -> None:
        _METADATA.create_all(self.engine)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def get(self, kind: str, name: str, scope: str = "") -> Entity | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_ENTITIES).where(_key(kind, scope, name))).first()
        return _entity(row) if row is not None else None

    def entities(self, kind: str, scope: str = "") -> list[Entity]:
        stmt = select(_ENTITIES).where(_ENTITIES.c.kind == kind, _ENTITIES.c.scope == scope)
        with self.engine.connect() as conn:
            return [_entity(row) for row in conn.execute(stmt.order_by(_ENTITIES.c.name))]

    def insert(self, entity: Entity) -> bool:
        """Create; ``False`` when an entity of that kind and name already exists."""
        values = {
            "kind": entity.kind,
            "scope": entity.scope,
            "name": entity.name,
            "payload": json.dumps(entity.payload, sort_keys=True),
            "entity_version": entity.entity_version,
            "create_ts": entity.create_ts,
            "update_ts": entity.update_ts,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_ENTITIES).values(**values))
        except IntegrityError:
            return False
        return True

    def replace_if_version(self, entity: Entity, expected_version: int) -> bool:
        """Write ``entity`` only if the stored version is still ``expected_version``."""
        stmt = (
            update(_ENTITIES)
            .where(_key(entity.kind, entity.scope, entity.name), _ENTITIES.c.entity_version == expected_version)
            .values(
                payload=json.dumps(entity.payload, sort_keys=True),
                entity_version=entity.entity_version,
                update_ts=entity.update_ts,
            )
        )
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def delete(self, kind: str, name: str, scope: str = "") -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(_ENTITIES).where(_key(kind, scope, name))).rowcount == 1

    def delete_scope(self, scope: str) -> None:
        """Drop everything scoped under a catalog (its catalog roles)."""
        with self.engine.begin() as conn:
            conn.execute(delete(_ENTITIES).where(_ENTITIES.c.scope == scope))

    def link(self, kind: str, left: str, right: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_LINKS).values(kind=kind, left_key=left, right_key=right))
        except IntegrityError:
            pass  # already linked: granting twice is not an error

    def unlink(self, kind: str, left: str | None = None, right: str | None = None) -> int:
        stmt = delete(_LINKS).where(_LINKS.c.kind == kind)
        if left is not None:
            stmt = stmt.where(_LINKS.c.left_key == left)
        if right is not None:
            stmt = stmt.where(_LINKS.c.right_key == right)
        with self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount)

    def links(self, kind: str, left: str | None = None, right: str | None = None) -> list[tuple[str, str]]:
        stmt = select(_LINKS.c.left_key, _LINKS.c.right_key).where(_LINKS.c.kind == kind)
        if left is not None:
            stmt = stmt.where(_LINKS.c.left_key == left)
        if right is not None:
            stmt = stmt.where(_LINKS.c.right_key == right)
        with self.engine.connect() as conn:
            return [(row[0], row[1]) for row in conn.execute(stmt.order_by(_LINKS.c.left_key, _LINKS.c.right_key))]


def _key(kind: str, scope: str, name: str) -> Any:
    return and_(_ENTITIES.c.kind == kind, _ENTITIES.c.scope == scope, _ENTITIES.c.name == name)


def _entity(row: Any) -> Entity:
    return Entity(
        row.kind, row.scope, row.name, json.loads(row.payload), row.entity_version, row.create_ts, row.update_ts
    )
