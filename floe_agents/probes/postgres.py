"""PostgreSQL: can Floe's services log in, are their databases there, and is Dagster's schema migrated?

An open port says little about Postgres: Dagster's webserver and daemon fail on a wrong password, a missing
``pg_hba.conf`` entry, a missing database, exhausted connection slots, or a schema that ``dagster instance
migrate`` never ran on (the seed report's "unmigrated schema"). So this probe logs in as Floe does and reads the
answers: the server's own error text classifies a failed login, ``pg_database`` lists the databases, and the
``dagster`` database's ``alembic_version`` is compared with the alembic head of the installed dagster-postgres
(read from its migration scripts without importing Dagster; a pinned constant when they are not installed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import anyio

from floe_agents.context import Endpoint, ProbeContext
from floe_agents.dagster_alembic import ancestors, installed_head
from floe_agents.findings import CannotObserveError, Code, Finding, Status
from floe_agents.probes import _fixes
from floe_agents.probes._credentials import POSTGRES_LOGIN
from floe_agents.probes._vantages import resolve_from
from floe_agents.probes._verdict import Verdict
from floe_agents.registry import probe

if TYPE_CHECKING:  # psycopg (and libpq) load when the probe first connects, not with every command's start
    import psycopg
    from psycopg import sql
    from psycopg.rows import TupleRow

    Connection = psycopg.AsyncConnection[TupleRow]

CONNECT_TIMEOUT_S = 3.0
STATEMENT_TIMEOUT_MS = 2500
NEAR_LIMIT = 0.8
REQUIRED_DB = "dagster"
OPTIONAL_DBS = ("polaris", "marquez")
Evidence = Mapping[str, object]

CODES = {
    "endpoint.not_configured": "unknown: no sql endpoint for this vantage in the targets",
    "postgres.unreachable": "fail: unresolvable, refused or no answer in time (evidence reason)",
    "postgres.not_postgres": "fail: something answered that does not speak the Postgres protocol",
    "postgres.tls_error": "fail: TLS required by the URL (sslmode) but refused/failed by the server",
    "postgres.auth_failed": "fail: wrong password, unknown role or no pg_hba.conf entry (evidence reason)",
    "postgres.credentials_missing": "unknown: the server wants a password and none is configured",
    "postgres.not_ready": "fail: server starting up, shutting down or in recovery",
    "postgres.connections_exhausted": "fail: login refused, no connection slots left",
    "postgres.connect_failed": "fail: any other login error (evidence error)",
    "postgres.login_ok": "ok: logged in (server version, TLS in use)",
    "postgres.query_failed": "unknown: logged in but a catalog query failed (evidence error)",
    "postgres.database_missing": "fail for dagster, warn for polaris/marquez",
    "postgres.databases_present": "ok: every expected database exists",
    "postgres.schema_empty": "fail: dagster database has no tables (never migrated, autocreate off)",
    "postgres.schema_unstamped": "warn: tables but no alembic_version row",
    "postgres.schema_behind": "fail: alembic_version is an ancestor of the installed head",
    "postgres.schema_ahead": "warn: alembic_version unknown to the installed scripts (newer Dagster)",
    "postgres.schema_not_at_head": "warn: differs from the pinned head; direction unknown (no scripts)",
    "postgres.schema_at_head": "ok",
    "postgres.connections_near_limit": "warn: backends above 80% of max_connections",
    "postgres.connections_ok": "ok",
}


_LOGIN_ERRORS = (  # (regex over libpq's lower-cased message, code, reason); first match wins
    (r"password authentication failed", "postgres.auth_failed", "wrong password"),
    (r"no pg_hba\.conf entry", "postgres.auth_failed", "no pg_hba.conf entry for this client"),
    (r"role .* does not exist", "postgres.auth_failed", "unknown role"),
    (
        r"too many (connections|clients)|connection slots are reserved",
        "postgres.connections_exhausted",
        "no slots left",
    ),
    (r"starting up|shutting down|in recovery|not yet accepting", "postgres.not_ready", "not accepting logins"),
    (
        r"invalid response to ssl negotiation|expected authentication request|closed the connection unexpectedly"
        r"|unsupported frontend protocol|invalid length of startup|lost synchronization",
        "postgres.not_postgres",
        "the peer does not speak the Postgres protocol",
    ),
    (r"ssl|certificate|tls", "postgres.tls_error", "TLS negotiation failed"),
    (r"connection refused", "postgres.unreachable", "refused"),
    (r"timeout expired|timed out", "postgres.unreachable", "timeout"),
    (r"no route to host|network is unreachable", "postgres.unreachable", "no route"),
)


def _classify_login_error(message: str, has_password: bool) -> tuple[str, Status, str]:
    """(code, status, reason) from libpq's error text (psycopg's connect errors carry no SQLSTATE)."""
    m = message.lower()
    if "no password supplied" in m:
        if has_password:
            return "postgres.auth_failed", Status.FAIL, "password not accepted"
        return "postgres.credentials_missing", Status.UNKNOWN, "the server wants a password and none is configured"
    for pattern, code, reason in _LOGIN_ERRORS:
        if re.search(pattern, m):
            return code, Status.FAIL, reason
    return "postgres.connect_failed", Status.FAIL, "login failed"


async def _connect(ctx: ProbeContext, ep: Endpoint, address: str, dbname: str) -> Connection:
    params: dict[str, str | int | None] = dict(ep.url.params.items())
    password = ctx.credential("postgres_password")
    if password is not None:
        params["password"] = password
    params.update(
        host=ep.host,
        hostaddr=address,
        port=ep.port or 5432,
        user=ctx.credential("postgres_user"),
        dbname=dbname,
        connect_timeout=max(2, int(CONNECT_TIMEOUT_S)),
        options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        application_name="floe-agents",
    )
    import psycopg  # noqa: PLC0415 - see TYPE_CHECKING above
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415

    with anyio.fail_after(CONNECT_TIMEOUT_S + 0.5):
        return await psycopg.AsyncConnection.connect(make_conninfo("", **params), autocommit=True)


async def _rows(conn: Connection, query: str | sql.Composable) -> list[TupleRow]:
    cur = await conn.execute(query)  # type: ignore[arg-type]  # our queries are literal or composed
    return list(await cur.fetchall())


_TABLES = (
    "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%'"
)


async def _schema(conn: Connection) -> Verdict:
    """Dagster's storage schema: no tables / unstamped / behind / at head / ahead of the installed head."""
    import psycopg  # noqa: PLC0415 - see TYPE_CHECKING above
    from psycopg import sql  # noqa: PLC0415

    head, chain, source = await anyio.to_thread.run_sync(installed_head)
    # Both queries in one round trip (a pipeline): the table list, and the stamp where Dagster keeps it. The stamp
    # query fails when there is no public.alembic_version; the table list then says where it is, if anywhere.
    public_stamp: list[TupleRow] | None = None
    try:
        async with conn.pipeline():
            listed = await conn.execute(_TABLES)
            stamped = await conn.execute("SELECT version_num FROM public.alembic_version")
    except psycopg.errors.UndefinedTable:
        pass
    else:
        public_stamp = list(await stamped.fetchall())
    tables = list(await listed.fetchall())
    names = sorted(f"{s}.{t}" for s, t in tables)
    ev: dict[str, object] = {"database": REQUIRED_DB, "installed_head": head, "head_source": source}
    ev.update(table_count=len(names), tables=names[:40])
    migrate = "(run `dagster instance migrate`)"

    def verdict(status: Status, code: str, summary: str) -> Verdict:
        return Verdict(status, code, summary, ev, subject=REQUIRED_DB)

    if not names:
        return verdict(Status.FAIL, "postgres.schema_empty", f"the dagster database has no tables {migrate}")
    stamp = next((s for s, t in tables if t == "alembic_version"), None)
    query = sql.SQL("SELECT version_num FROM {}.alembic_version").format(sql.Identifier(stamp or "public"))
    rows = public_stamp if stamp == "public" and public_stamp is not None else None
    if rows is None and stamp is not None:
        rows = await _rows(conn, query)
    ev["db_revisions"] = revisions = [str(r[0]) for r in rows or []]
    if not revisions:
        return verdict(Status.WARN, "postgres.schema_unstamped", f"{len(names)} tables but no alembic_version revision")
    ev["db_revision"] = rev = revisions[0]
    if rev == head:
        return verdict(Status.OK, "postgres.schema_at_head", f"dagster schema is at head {head}")
    if chain is None:
        return verdict(Status.WARN, "postgres.schema_not_at_head", f"dagster schema is at {rev}, not the pinned {head}")
    behind = ancestors(chain, head)
    if rev in behind:
        ev["revisions_behind"] = n = behind.index(rev) + 1
        return verdict(Status.FAIL, "postgres.schema_behind", f"dagster schema {rev} is {n} behind {head} {migrate}")
    summary = f"dagster schema {rev} is unknown to the installed scripts (head {head}): a newer Dagster migrated it"
    return verdict(Status.WARN, "postgres.schema_ahead", summary)


_FACTS = (
    "SELECT current_setting('server_version'), (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), "
    "ARRAY(SELECT datname::text FROM pg_database WHERE NOT datistemplate), "
    "current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int, "
    "(SELECT coalesce(sum(numbackends), 0)::int FROM pg_stat_database)"
)  # one round trip for everything the login connection checks


async def _after_login(
    ctx: ProbeContext, ep: Endpoint, conn: Connection, base: Evidence, out: list[Finding]
) -> list[str]:
    """Server, databases and connection headroom; returns the databases present."""

    def emit(subject: str, status: Status, code: str, summary: str, ev: Evidence) -> None:
        out.append(ctx.finding(status, code, summary, subject=subject, evidence=ev))

    [(version, ssl_in_use, names, limit, reserved, used)] = await _rows(conn, _FACTS)
    ev = {**base, "server_version": version, "ssl": bool(ssl_in_use)}
    emit(f"{ep.host}:{base['port']}", Status.OK, "postgres.login_ok", f"logged in to {ep.host}:{base['port']}", ev)
    dbs = sorted(str(n) for n in names)
    missing = [d for d in (REQUIRED_DB, *OPTIONAL_DBS) if d not in dbs]
    for db in missing:
        status = Status.FAIL if db == REQUIRED_DB else Status.WARN
        emit(db, status, "postgres.database_missing", f"database {db} does not exist", {**base, "databases": dbs})
    if not missing:
        ev = {**base, "databases": dbs}
        emit("databases", Status.OK, "postgres.databases_present", "dagster, polaris and marquez exist", ev)
    ev = {**base, "max_connections": limit, "superuser_reserved": reserved, "in_use": used}
    ev["ratio"] = ratio = round(used / limit, 3) if limit else 0.0
    near = ratio > NEAR_LIMIT
    code = "postgres.connections_near_limit" if near else "postgres.connections_ok"
    emit("connections", Status.WARN if near else Status.OK, code, f"{used} of {limit} connections in use", ev)
    return dbs


async def _dagster_schema(ctx: ProbeContext, ep: Endpoint, address: str, base: Evidence) -> Verdict:
    """The Dagster schema verdict, or what stopped us (used only if the database turns out to exist)."""
    import psycopg  # noqa: PLC0415 - see TYPE_CHECKING above

    try:
        async with await _connect(ctx, ep, address, REQUIRED_DB) as db:
            return await _schema(db)
    except (psycopg.Error, TimeoutError, ValueError) as exc:
        return _query_failed(f"{ep.host}:{ep.port or 5432}", base, exc)


async def _check(ctx: ProbeContext, ep: Endpoint) -> list[Finding]:
    import psycopg  # noqa: PLC0415 - see TYPE_CHECKING above

    subject = f"{ep.host}:{ep.port or 5432}"
    base: dict[str, object] = {"host": ep.host, "port": ep.port or 5432, "endpoint": ep.name}
    base.update(user=ctx.credential("postgres_user"), sslmode=ep.url.params.get("sslmode"))

    def one(status: Status, code: str, summary: str, ev: Evidence) -> list[Finding]:
        return [ctx.finding(status, code, summary, subject=subject, evidence={**base, **ev})]

    resolution = await resolve_from(ctx, ep.vantage, ep.host)
    if resolution.outcome == "unobservable" and resolution.has_resolver:
        why = resolution.reason
        raise CannotObserveError(
            "postgres.unreachable",
            f"cannot observe {subject}: {why}",
            subject=subject,
            evidence={**base, "reason": why},
        )
    if resolution.outcome == "fail":
        ev = {"reason": "unresolvable", "error": resolution.reason}
        return one(Status.FAIL, "postgres.unreachable", f"{ep.host} does not resolve", ev)
    address = base["address"] = resolution.addresses[0] if resolution.addresses else ep.host
    schema: Verdict | None = None

    async def early_schema() -> None:
        nonlocal schema
        schema = await _dagster_schema(ctx, ep, address, base)

    # Dagster's database is read on its own connection while the login connection works: a remote cluster's
    # round trips are paid once, not twice in a row. Its verdict is used only if the database exists.
    async with anyio.create_task_group() as tg:
        tg.start_soon(early_schema)
        try:
            conn = await _connect(ctx, ep, address, "postgres")
        except TimeoutError:
            tg.cancel_scope.cancel()
            summary = f"{subject} did not answer within {CONNECT_TIMEOUT_S:g}s"
            return one(Status.FAIL, "postgres.unreachable", summary, {"reason": "timeout"})
        except psycopg.Error as exc:
            tg.cancel_scope.cancel()
            message = str(exc).strip()
            code, status, reason = _classify_login_error(message, ctx.credential("postgres_password") is not None)
            return one(status, code, f"login to {subject} failed: {reason}", {"reason": reason, "error": message[:500]})
        out: list[Finding] = []
        try:
            async with conn:
                dbs = await _after_login(ctx, ep, conn, base, out)
        except (psycopg.Error, TimeoutError, ValueError) as exc:
            dbs = []
            tg.cancel_scope.cancel()
            out.append(_query_failed(subject, base, exc).finding(ctx))
    if REQUIRED_DB in dbs and schema is not None:
        out.append(schema.finding(ctx))
    return out


def _query_failed(subject: str, base: Evidence, exc: Exception) -> Verdict:
    summary = f"logged in to {subject} but a query failed: {exc}"
    ev = {**base, "error": f"{type(exc).__name__}: {exc}"[:500]}
    return Verdict(Status.UNKNOWN, "postgres.query_failed", summary, ev, subject="queries")


@probe(
    "postgres",
    components=["postgres"],
    timeout=3 * CONNECT_TIMEOUT_S + 2,
    description="Log in to PostgreSQL, check Floe's databases, Dagster's schema head and connection headroom",
    codes=CODES,
    fixes=_fixes.POSTGRES,
    credentials=POSTGRES_LOGIN,
)
async def postgres(ctx: ProbeContext) -> list[Finding]:
    eps = ctx.endpoints()
    ep = next((e for e in eps if e.name == "sql"), None) or next((e for e in eps if "postgres" in e.url.scheme), None)
    if ep is None:
        summary = f"no postgres sql endpoint for vantage {ctx.vantage} in the targets"
        ev = {"vantage": ctx.vantage, "endpoints": [e.name for e in eps]}
        return [ctx.finding(Status.UNKNOWN, Code.ENDPOINT_NOT_CONFIGURED, summary, subject="sql", evidence=ev)]
    return await _check(ctx, ep)
