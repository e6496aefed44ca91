"""Where Dagster's storage schema stands, read from PostgreSQL the way the postgres probe reads it.

Why the same reading: ``dagster.migrate_storage`` must plan nothing exactly when the postgres probe says
``postgres.schema_at_head``, and its verification must be the probe's. So "head" is the same thing — the alembic
head of the installed dagster-postgres, read from its migration scripts as text (no Dagster import), with the
same pinned fallback — and the database is reached through the same driver (psycopg), endpoint (the postgres
component's ``sql`` URL from this vantage) and credentials (``postgres_user``/``postgres_password``, as the
probe declares them). The head comes from :mod:`floe_agents.dagster_alembic`, the module the probe reads it from.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import psycopg
from psycopg.conninfo import make_conninfo

from floe_agents.dagster_alembic import ancestors, installed_head
from floe_agents.heal_context import HealContext, RemediationError

__all__ = ["SchemaState", "read_schema"]

CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class SchemaState:
    database: str
    tables: int
    revision: str | None
    head: str
    behind: bool  # the revision is an ancestor of head (or, without the scripts, just not head)

    @property
    def needs_migration(self) -> bool:
        """No tables, no stamp, or behind head; an unknown (newer) revision is not ours to touch."""
        return self.tables == 0 or self.revision is None or self.behind

    def shown(self) -> dict[str, object]:
        return {"database": self.database, "tables": self.tables, "revision": self.revision, "head": self.head}


async def read_schema(ctx: HealContext, database: str) -> SchemaState:
    """The schema of ``database`` on the postgres component's sql endpoint; RemediationError if unreadable."""
    url = ctx.url("postgres", "sql")
    if url is None or not url.host:
        raise RemediationError("the targets give no postgres sql endpoint for this vantage")
    params: dict[str, str | int | None] = dict(url.params.items())
    params.update(host=url.host, port=url.port or 5432, user=ctx.credential("postgres_user"), dbname=database,
                  password=ctx.credential("postgres_password"), connect_timeout=int(CONNECT_TIMEOUT_S),
                  application_name="floe-agents")  # fmt: skip
    head, chain, _ = await anyio.to_thread.run_sync(installed_head)
    try:
        with anyio.fail_after(CONNECT_TIMEOUT_S + 5):
            async with await psycopg.AsyncConnection.connect(make_conninfo("", **params), autocommit=True) as conn:
                cur = await conn.execute(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                    "AND n.nspname NOT LIKE 'pg_toast%'"
                )
                tables = int((await cur.fetchone() or (0,))[0])
                stamp = await conn.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL")
                revision = None
                if (await stamp.fetchone() or (False,))[0]:
                    row = await (await conn.execute("SELECT version_num FROM public.alembic_version")).fetchone()
                    revision = str(row[0]) if row else None
    except (psycopg.Error, TimeoutError) as exc:
        raise RemediationError(ctx.mask(f"cannot read the {database} schema: {type(exc).__name__}: {exc}")) from None
    behind = revision is not None and revision != head and (chain is None or revision in ancestors(chain, head))
    return SchemaState(database, tables, revision, head, behind)
