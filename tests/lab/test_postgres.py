"""The lab's PostgreSQL is a real server: password auth over TCP on loopback, the lab databases, clean stops.

What floe-agents' probes will meet is pinned here: a wrong password is refused by the server itself, the
server listens on 127.0.0.1 only (no Unix socket), and a stopped server leaves no process and no listener.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from floe_lab import procs
from floe_lab.postgres import LAB_DATABASES, Postgres, remove_data, start_postgres, stop_postgres
from tests.support.processes import PG_PASSWORD, assert_nothing_left, real_postgres_running

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
async def real_postgres(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Postgres]:
    async with real_postgres_running(tmp_path_factory.mktemp("pg")) as pg:
        yield pg


async def test_accepts_the_password_over_tcp(real_postgres: Postgres) -> None:
    async with await psycopg.AsyncConnection.connect(real_postgres.dsn("dagster")) as conn:
        cur = await conn.execute("SELECT current_user, current_database(), inet_server_addr()::text")
        assert await cur.fetchone() == ("postgres", "dagster", "127.0.0.1/32")


async def test_rejects_a_wrong_password(real_postgres: Postgres) -> None:
    wrong = real_postgres.dsn().replace(PG_PASSWORD, "not-the-password")
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "postgres"'):
        await psycopg.AsyncConnection.connect(wrong)


async def test_has_the_lab_databases(real_postgres: Postgres) -> None:
    async with await psycopg.AsyncConnection.connect(real_postgres.dsn()) as conn:
        cur = await conn.execute("SELECT datname FROM pg_database")
        names = {row[0] for row in await cur.fetchall()}
    assert set(LAB_DATABASES) <= names


async def test_listens_on_loopback_only(real_postgres: Postgres) -> None:
    async with await psycopg.AsyncConnection.connect(real_postgres.dsn()) as conn:
        settings = {}
        for name in ("listen_addresses", "unix_socket_directories", "password_encryption"):
            cur = await conn.execute(f"SHOW {name}")
            settings[name] = (await cur.fetchone() or [None])[0]
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": "",
        "password_encryption": "scram-sha-256",
    }
    assert real_postgres.sqlalchemy_url("dagster").startswith("postgresql+psycopg2://postgres:")


async def test_start_fast_stop_clean_and_restart_keeps_data(tmp_path: Path) -> None:
    pg = await start_postgres(tmp_path, password="first", databases=["dagster", "extra"])
    assert procs.memory(pg.record).processes > 1  # postmaster plus its (own-session) children
    result = await stop_postgres(tmp_path, pg)
    assert result.how == "signal"  # the fast shutdown ended it, no SIGKILL after the grace
    assert_nothing_left(tmp_path, [pg.port])

    again = await start_postgres(tmp_path, password="first", databases=[])  # data dir reused
    try:
        async with await psycopg.AsyncConnection.connect(again.dsn("extra")):  # created by the first run
            pass
    finally:
        await stop_postgres(tmp_path, again)
    assert_nothing_left(tmp_path, [again.port])
    data_home = again.data_dir.parent
    remove_data(tmp_path)
    assert not data_home.exists() or data_home == tmp_path / "postgres"
    assert not (tmp_path / "postgres").exists()


async def test_a_postmaster_that_dies_before_ready_is_started_once_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a kubelet restarts a crashed container; a fault that repeats still fails (with both starts named)."""
    real_start, calls = procs.start, []

    async def flaky(state: Path, spec: procs.ProcSpec, *, ready_within: float) -> procs.ProcRecord:
        calls.append(spec.name)
        if len(calls) == 1:
            raise procs.ProcExitedError("postgres exited before it was ready (killed by SIGKILL; its log: x)")
        return await real_start(state, spec, ready_within=ready_within)

    monkeypatch.setattr(procs, "start", flaky)
    pg = await start_postgres(tmp_path, password="pw", databases=[])
    try:
        assert calls == ["postgres", "postgres"]
    finally:
        await stop_postgres(tmp_path, pg)
    assert_nothing_left(tmp_path, [pg.port])

    async def always_dies(state: Path, spec: procs.ProcSpec, *, ready_within: float) -> procs.ProcRecord:
        raise procs.ProcExitedError(f"{spec.name} exited before it was ready (exit code 1; its log: x)")

    monkeypatch.setattr(procs, "start", always_dies)
    with pytest.raises(procs.ProcStartError, match=r"(?s)exit code 1.*the start before it failed too"):
        await start_postgres(tmp_path, password="pw", databases=[])
