"""postgres probe: against the lab's real PostgreSQL (healthy, unmigrated, seed; wrong logins; scratch schemas at
every revision class) and against sockets that are not a usable Postgres (closed, silent, HTTP, no TLS)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
import pytest
from psycopg import sql

from floe_agents import dagster_alembic as alembic_module
from floe_agents.config.targets import CredentialsTarget
from floe_agents.context import ProbeContext
from floe_agents.dagster_alembic import FALLBACK_HEAD, _alembic_chain, ancestors
from floe_agents.findings import Code, Finding, Status
from floe_agents.probes import postgres as pg_module
from floe_agents.probes.postgres import CODES, _schema, postgres
from tests.support.lab import LabHandle, findings_of, probe_findings
from tests.support.net import bad_server, closed_port
from tests.support.probes import CtxFactory, finding_per_code, run_probe


def by_code(findings: list[Finding]) -> dict[str, Finding]:
    return finding_per_code(findings, CODES)


def pg_ctx(make_ctx: CtxFactory, url: str, password: str | None = "pw", user: str = "postgres") -> ProbeContext:
    ctx = make_ctx("postgres", {"sql": {"urls": {"local": url}}}, check="postgres")
    creds = CredentialsTarget.model_validate({"postgres_user": user, "postgres_password": password})
    return dataclasses.replace(ctx, targets=ctx.targets.model_copy(update={"credentials": creds}))


def lab_pg(lab: LabHandle) -> tuple[str, str]:
    """(probe URL, libpq DSN as the lab's superuser) of the lab's PostgreSQL."""
    port = lab.ports["floe-infra-postgresql"]["tcp-postgresql"]
    password = lab.secret("floe-demo-credentials", "postgresql-password")
    return f"postgresql://127.0.0.1:{port}", f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"


BAD_PASSWORD = "not-the-password-x9"


# --- the real lab ---------------------------------------------------------------------------------------------


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy", "unmigrated-schema", "seed"], indirect=True)
async def test_lab(lab: LabHandle) -> None:
    found = by_code(findings_of(await probe_findings(lab, postgres, only="postgres"), "postgres"))
    assert found["postgres.login_ok"].status is Status.OK
    assert found["postgres.databases_present"].evidence["databases"] == ["dagster", "marquez", "polaris", "postgres"]
    assert found["postgres.connections_ok"].evidence["max_connections"] == 200
    head = _alembic_chain()[0]
    if lab.info["scenario"] == "healthy":
        at_head = found["postgres.schema_at_head"]
        assert (at_head.subject, at_head.evidence["db_revision"]) == ("dagster", head)
        assert not [f for f in found.values() if f.is_problem]
    else:
        empty = found["postgres.schema_empty"]
        assert (empty.status, empty.subject, empty.evidence["table_count"]) == (Status.FAIL, "dagster", 0)
        assert empty.evidence["installed_head"] == head


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy"], indirect=True)
@pytest.mark.parametrize(
    ("user", "password", "code", "status", "reason"),
    [
        ("postgres", BAD_PASSWORD, "postgres.auth_failed", Status.FAIL, "wrong password"),
        ("nobody", BAD_PASSWORD, "postgres.auth_failed", Status.FAIL, "wrong password"),  # SCRAM hides no-such-role
        ("postgres", None, "postgres.credentials_missing", Status.UNKNOWN, "none is configured"),
    ],
)
async def test_lab_bad_logins(
    lab: LabHandle,
    make_ctx: CtxFactory,
    monkeypatch: pytest.MonkeyPatch,
    user: str,
    password: str | None,
    code: str,
    status: Status,
    reason: str,
) -> None:
    monkeypatch.delenv("DAGSTER_PG_PASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", "/nonexistent")
    url, _ = lab_pg(lab)
    [finding] = await run_probe(postgres, pg_ctx(make_ctx, url, password, user))
    assert (finding.code, finding.status) == (code, status), finding.summary
    assert reason in finding.evidence["reason"]
    assert BAD_PASSWORD not in finding.model_dump_json()


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy"], indirect=True)
async def test_lab_tls_required_but_not_offered(lab: LabHandle, make_ctx: CtxFactory) -> None:
    url, dsn = lab_pg(lab)
    password = psycopg.conninfo.conninfo_to_dict(dsn)["password"]
    [finding] = await run_probe(postgres, pg_ctx(make_ctx, url + "?sslmode=require", str(password)))
    assert finding.code == "postgres.tls_error", finding.summary
    assert finding.evidence["sslmode"] == "require"


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy"], indirect=True)
async def test_lab_connections_near_limit(
    lab: LabHandle, make_ctx: CtxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_module, "NEAR_LIMIT", 0.0)
    url, dsn = lab_pg(lab)
    password = str(psycopg.conninfo.conninfo_to_dict(dsn)["password"])
    found = by_code(await run_probe(postgres, pg_ctx(make_ctx, url, password)))
    near = found["postgres.connections_near_limit"]
    assert near.status is Status.WARN and near.evidence["in_use"] >= 1


@pytest.fixture
async def scratch_db(lab: LabHandle) -> AsyncIterator[Callable[[list[str]], Any]]:
    """A throwaway database in the lab's Postgres; ``await make(statements)`` opens it after running them."""
    _, dsn = lab_pg(lab)
    name = f"probe_scratch_{uuid.uuid4().hex[:8]}"
    opened: list[psycopg.AsyncConnection[Any]] = []
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as admin:
        await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

        async def make(statements: list[str]) -> psycopg.AsyncConnection[Any]:
            conn = await psycopg.AsyncConnection.connect(dsn.rsplit("/", 1)[0] + "/" + name, autocommit=True)
            opened.append(conn)
            for statement in statements:
                await conn.execute(statement)
            return conn

        try:
            yield make
        finally:
            for conn in opened:
                await conn.close()
            await admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


STAMP = "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)"


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy"], indirect=True)
@pytest.mark.parametrize("kind", ["behind", "ahead", "unstamped", "at_head"])
async def test_schema_revision_classes(kind: str, scratch_db: Callable[[list[str]], Any]) -> None:
    head, chain, _ = _alembic_chain()
    revision = {"behind": ancestors(chain, head)[2], "ahead": "ffffffffffff", "at_head": head}.get(kind)
    stamp = [STAMP, f"INSERT INTO alembic_version VALUES ('{revision}')"] if revision else []
    conn = await scratch_db(["CREATE TABLE runs (id serial PRIMARY KEY)", *stamp])
    verdict = await _schema(conn)
    status, code, ev = verdict.status, verdict.code, verdict.evidence
    expected = {"behind": Status.FAIL, "ahead": Status.WARN, "unstamped": Status.WARN, "at_head": Status.OK}[kind]
    assert (code, status) == (f"postgres.schema_{kind}", expected)
    assert ev["table_count"] == 1 + bool(revision)
    if kind == "behind":
        assert ev["revisions_behind"] == 3


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy"], indirect=True)
async def test_schema_without_installed_scripts_uses_pinned_head(
    scratch_db: Callable[[list[str]], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable() -> Any:
        raise LookupError("dagster_postgres is not installed")

    monkeypatch.setattr(alembic_module, "_alembic_chain", unreadable)
    conn = await scratch_db([STAMP, "INSERT INTO alembic_version VALUES ('7e2f3204cf8e')"])
    verdict = await _schema(conn)
    status, code, ev = verdict.status, verdict.code, verdict.evidence
    assert (code, status, ev["installed_head"]) == ("postgres.schema_not_at_head", Status.WARN, FALLBACK_HEAD)
    source = str(ev["head_source"])
    assert "0.29.27" in source and "not installed" in source


# --- no lab: the installed head, and sockets that are not a usable Postgres --------------------------------------


@pytest.mark.parametrize(
    ("message", "code", "reason"),
    [  # server texts as PostgreSQL words them (src/backend/libpq/auth.c, postmaster) behind libpq's prefix
        (
            'connection failed: FATAL:  no pg_hba.conf entry for host "10.0.0.7", user "dagster", database "dagster", '
            "no encryption",
            "postgres.auth_failed",
            "no pg_hba.conf entry for this client",
        ),
        ('FATAL:  password authentication failed for user "dagster"', "postgres.auth_failed", "wrong password"),
        ('FATAL:  role "dagster" does not exist', "postgres.auth_failed", "unknown role"),
        ("FATAL:  sorry, too many clients already", "postgres.connections_exhausted", "no slots left"),
        (
            "FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute",
            "postgres.connections_exhausted",
            "no slots left",
        ),
        ("FATAL:  the database system is starting up", "postgres.not_ready", "not accepting logins"),
        ("server does not support SSL, but SSL was required", "postgres.tls_error", "TLS negotiation failed"),
    ],
)
def test_login_error_classes(message: str, code: str, reason: str) -> None:
    assert pg_module._classify_login_error(message, has_password=True) == (code, Status.FAIL, reason)


def test_installed_head_is_read_without_importing_dagster() -> None:
    head, chain, source = _alembic_chain()
    assert head == FALLBACK_HEAD  # pyproject pins dagster-postgres 0.29.27
    assert len(ancestors(chain, head)) == len(chain) - 1  # one linear history back to the first revision
    assert "dagster-postgres 0.29.27" in source


@pytest.fixture
async def fake_pg() -> AsyncIterator[Callable[[str], Awaitable[int]]]:
    """Loopback servers that misbehave at the Postgres protocol: ``no-ssl`` answers 'N' to SSLRequest like a
    server without TLS, ``silent`` never answers, ``hangup`` closes at once."""
    servers: list[asyncio.Server] = []
    handlers: list[asyncio.Task[Any]] = []

    async def start(kind: str) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            handlers.append(asyncio.current_task())  # type: ignore[arg-type]
            if kind == "no-ssl":
                await reader.readexactly(8)
                writer.write(b"N")
                await writer.drain()
                await reader.read(1024)
            elif kind == "silent":
                await reader.read(1024)
                await asyncio.sleep(10)
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for task in handlers:
        task.cancel()
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_closed_port_is_refused(make_ctx: CtxFactory) -> None:
    [finding] = await run_probe(postgres, pg_ctx(make_ctx, f"postgresql://127.0.0.1:{closed_port()}"))
    assert (finding.code, finding.evidence["reason"]) == ("postgres.unreachable", "refused"), finding.summary


async def test_silent_server_times_out(make_ctx: CtxFactory, fake_pg: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_module, "CONNECT_TIMEOUT_S", 0.3)
    port = await fake_pg("silent")
    t0 = time.monotonic()
    [finding] = await run_probe(postgres, pg_ctx(make_ctx, f"postgresql://127.0.0.1:{port}"))
    assert time.monotonic() - t0 < 2.0
    assert (finding.code, finding.evidence["reason"]) == ("postgres.unreachable", "timeout")


@pytest.mark.parametrize(("kind", "query"), [("hangup", ""), ("no-ssl", "?sslmode=require")])
async def test_protocol_misbehaviour(make_ctx: CtxFactory, fake_pg: Any, kind: str, query: str) -> None:
    port = await fake_pg(kind)
    [finding] = await run_probe(postgres, pg_ctx(make_ctx, f"postgresql://127.0.0.1:{port}{query}"))
    expected = {"hangup": "postgres.not_postgres", "no-ssl": "postgres.tls_error"}[kind]
    assert finding.code == expected, finding.summary
    assert finding.status is Status.FAIL and finding.evidence["error"]


@pytest.mark.parametrize("sslmode", ["disable", "prefer"])
async def test_http_server_is_not_postgres(make_ctx: CtxFactory, sslmode: str) -> None:
    async with bad_server() as base:
        url = base.replace("http://", "postgresql://") + f"?sslmode={sslmode}"
        [finding] = await run_probe(postgres, pg_ctx(make_ctx, url))
    assert finding.code == "postgres.not_postgres", finding.summary


async def test_unresolvable_host(make_ctx: CtxFactory) -> None:
    ctx = make_ctx(
        "postgres",
        {"sql": {"urls": {"lab": "postgresql://floe-infra-postgresql:5432"}}},
        vantages={"lab": {"resolver": "hosts", "hosts": {}}},
        vantage="lab",
    )
    [finding] = await run_probe(postgres, ctx)
    assert (finding.code, finding.evidence["reason"], finding.vantage) == (
        "postgres.unreachable",
        "unresolvable",
        "lab",
    )


async def test_no_endpoint_for_our_vantage(make_ctx: CtxFactory) -> None:
    ctx = make_ctx("postgres", {"sql": {"urls": {"cluster": "postgresql://floe-infra-postgresql:5432"}}})
    [finding] = await run_probe(postgres, ctx)
    assert (finding.status, finding.code) == (Status.UNKNOWN, Code.ENDPOINT_NOT_CONFIGURED)


async def test_black_hole_finishes_within_the_probe_timeout(make_ctx: CtxFactory, black_holed_port: int) -> None:
    t0 = time.monotonic()
    [finding] = await run_probe(postgres, pg_ctx(make_ctx, f"postgresql://127.0.0.1:{black_holed_port}"))
    assert time.monotonic() - t0 < postgres.timeout_s
    assert (finding.code, finding.evidence["reason"]) == ("postgres.unreachable", "timeout"), finding.summary
