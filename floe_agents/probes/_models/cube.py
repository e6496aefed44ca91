"""Cube's answers: ``/readyz`` and ``/livez`` health, and ``/cubejs-api/v1/meta`` (``?extended=true``) cubes."""

from __future__ import annotations

from floe_agents.probes._models import Model

__all__ = ["CubeHealth", "CubeMeta", "MetaCube"]


class CubeHealth(Model):
    """``{"health": "HEALTH"}`` or ``{"health": "DOWN"}``."""

    health: str | None = None


class MetaCube(Model):
    name: str | None = None
    sqlTable: str | None = None  # noqa: N815 - the wire name; ``sql_table`` is the other spelling Cube uses
    sql_table: str | None = None
    sql: str | None = None


class CubeMeta(Model):
    """``/cubejs-api/v1/meta``: the compiled data model."""

    cubes: list[MetaCube]
