"""Start the real Dagster processes of the lab: the ``floe-demo`` code server, the webserver and the daemon.

They are the same three things Floe's chart deploys (user deployment on gRPC, webserver, daemon), started
with the installed ``dagster`` CLIs through :mod:`floe_lab.procs` with ``DAGSTER_HOME`` pointing at
an instance rendered by :mod:`.instance`. The schema helpers exist because "unmigrated schema" is one of the
seed report's faults: the installed dagster-postgres alembic head versus the database's ``alembic_version``
is exactly what a probe compares, and ``dagster instance migrate`` is the fix a healer would run.

The code server's environment is explicit: the variables the location reads (catalog, S3, telemetry) are
removed from what the caller's environment would pass down unless given, so "no telemetry configured" is
something the lab chooses, not an accident of the shell it runs in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
import psycopg
import yaml

from floe_lab import procs
from floe_lab.dagster_site.instance import LOCATION_NAME, write_workspace

__all__ = [
    "DEMO_ENV_VARS",
    "DEMO_MODULE",
    "DagsterStack",
    "db_schema_version",
    "installed_schema_head",
    "migrate",
    "start_code_server",
    "start_daemon",
    "start_stack",
    "start_webserver",
]

DEMO_MODULE = "floe_lab.dagster_site.floe_demo.definitions"
DEMO_ENV_VARS = (
    "POLARIS_URI",
    "POLARIS_WAREHOUSE",
    "POLARIS_CLIENT_ID",
    "POLARIS_CLIENT_SECRET",
    "POLARIS_SCOPE",
    "FLOE_DEMO_NAMESPACE",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "S3_PATH_STYLE_ACCESS",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OPENLINEAGE_URL",
    "OPENLINEAGE_NAMESPACE",
    "OPENLINEAGE_CONFIG",
)
_DAGSTER_VARS = ("DAGSTER_HOME", "DAGSTER_PG_PASSWORD")
_IMPORT_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding ``floe_lab``


def _exe(name: str) -> str:
    """A console script of this interpreter's environment (the venv's), else from PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def _env(instance_dir: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    python_path = os.pathsep.join(filter(None, [_IMPORT_ROOT, os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": python_path, "DAGSTER_HOME": str(instance_dir), **(env or {})}


async def start_code_server(
    state_dir: Path,
    instance_dir: Path,
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    location_name: str = LOCATION_NAME,
    ready_within: float = procs.READY_BUDGET_S,
) -> procs.ProcRecord:
    """``dagster code-server start`` serving the ``floe-demo`` location over gRPC on 127.0.0.1.

    ``env`` is the whole of the location's configuration (see ``DEMO_ENV_VARS``); it is ready once the
    proxy reports the location loaded and the port accepts connections.
    """
    port = port or procs.free_port()
    argv = [
        _exe("dagster"),
        "code-server",
        "start",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-m",
        DEMO_MODULE,
        "--location-name",
        location_name,
        "-d",
        _IMPORT_ROOT,
        "--use-python-environment-entry-point",
    ]
    spec = procs.ProcSpec(
        name="dagster-code-server",
        argv=argv,
        env=_env(instance_dir, env),
        ports={"grpc": port},
        unset=[*DEMO_ENV_VARS, *_DAGSTER_VARS],
        cwd=instance_dir,
        ready=[procs.LogReady(r"Started Dagster code proxy server"), procs.TcpReady(port)],
    )
    return await procs.start(state_dir, spec, ready_within=ready_within)


async def start_webserver(
    state_dir: Path,
    instance_dir: Path,
    workspace: Path,
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    ready_within: float = procs.READY_BUDGET_S,
) -> procs.ProcRecord:
    """``dagster-webserver`` on 127.0.0.1 with ``workspace``; ready once ``/server_info`` answers."""
    port = port or procs.free_port()
    argv = [_exe("dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", str(workspace)]
    spec = procs.ProcSpec(
        name="dagster-webserver",
        argv=argv,
        env=_env(instance_dir, env),
        ports={"http": port},
        unset=_DAGSTER_VARS,
        cwd=instance_dir,
        ready=[procs.HttpReady(f"http://127.0.0.1:{port}/server_info")],
    )
    return await procs.start(state_dir, spec, ready_within=ready_within)


async def start_daemon(
    state_dir: Path,
    instance_dir: Path,
    workspace: Path,
    *,
    env: Mapping[str, str] | None = None,
    ready_within: float = procs.READY_BUDGET_S,
) -> procs.ProcRecord:
    """``dagster-daemon run`` with ``workspace``; ready once it has listed its daemons (heartbeats follow)."""
    spec = procs.ProcSpec(
        name="dagster-daemon",
        argv=[_exe("dagster-daemon"), "run", "-w", str(workspace)],
        env=_env(instance_dir, env),
        unset=_DAGSTER_VARS,
        cwd=instance_dir,
        ready=[procs.LogReady(r"Instance is configured with the following daemons")],
    )
    return await procs.start(state_dir, spec, ready_within=ready_within)


@dataclass(frozen=True)
class DagsterStack:
    """The three running Dagster processes and how to reach them."""

    code_server: procs.ProcRecord
    webserver: procs.ProcRecord
    daemon: procs.ProcRecord
    workspace: Path

    @property
    def url(self) -> str:
        """The webserver's base URL (``/server_info``, ``/graphql``)."""
        return f"http://127.0.0.1:{self.webserver.ports['http']}"


async def start_stack(
    state_dir: Path,
    instance_dir: Path,
    *,
    code_env: Mapping[str, str] | None = None,
    server_env: Mapping[str, str] | None = None,
    ready_within: float = procs.READY_BUDGET_S,
) -> DagsterStack:
    """Code server first (the others load the location from it), then webserver and daemon side by side.

    ``code_env`` configures the ``floe-demo`` location; ``server_env`` (e.g. ``DAGSTER_PG_PASSWORD`` when the
    instance reads its password from the environment) goes to all three, since the code server launches the
    run workers, which open the instance too (the chart gives the user deployment the same secret). The
    workspace file is written to ``<instance_dir>/workspace.yaml``. If a start fails, the others are stopped.
    """
    started: dict[str, procs.ProcRecord] = {}
    try:
        code_env = {**(server_env or {}), **(code_env or {})}
        started["code"] = await start_code_server(state_dir, instance_dir, env=code_env, ready_within=ready_within)
        workspace = await anyio.to_thread.run_sync(
            write_workspace, instance_dir / "workspace.yaml", "127.0.0.1", started["code"].ports["grpc"]
        )

        async def web() -> None:
            started["web"] = await start_webserver(
                state_dir, instance_dir, workspace, env=server_env, ready_within=ready_within
            )

        async def daemon() -> None:
            started["daemon"] = await start_daemon(
                state_dir, instance_dir, workspace, env=server_env, ready_within=ready_within
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(web)
            tg.start_soon(daemon)
    except BaseException:
        with anyio.CancelScope(shield=True):
            for rec in started.values():
                await procs.stop(state_dir, rec)
        raise
    return DagsterStack(started["code"], started["web"], started["daemon"], workspace)


async def migrate(instance_dir: Path, *, env: Mapping[str, str] | None = None, create_tables: bool = True) -> str:
    """Run ``dagster instance migrate`` for the instance in ``instance_dir``; returns its output.

    Dagster's migrations assume its base tables exist: on an empty database with table auto-creation off,
    ``dagster instance migrate`` fails part-way and leaves ``alembic_version`` behind the head (real
    behaviour of 1.13). Floe's chart runs the migrate job with an instance that may create tables, so by
    default this runs it on a copy of ``dagster.yaml`` with ``should_autocreate_tables: true``; with
    ``create_tables=False`` it runs on the instance as configured. Raises
    :class:`subprocess.CalledProcessError` (with the output) when the migration fails.
    """
    home = instance_dir
    if create_tables:
        home = instance_dir / "migrate-home"
        await anyio.to_thread.run_sync(_autocreating_copy, instance_dir, home)
    full_env = {key: value for key, value in os.environ.items() if key not in _DAGSTER_VARS}
    full_env.update(_env(home, env))
    result = await anyio.run_process(
        [_exe("dagster"), "instance", "migrate"],
        env=full_env,
        cwd=instance_dir,
        stderr=subprocess.STDOUT,
        check=False,
    )
    output = result.stdout.decode(errors="replace")
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, result.args, output=output)
    return output


def _autocreating_copy(instance_dir: Path, home: Path) -> None:
    config = yaml.safe_load((instance_dir / "dagster.yaml").read_text())
    config["storage"]["postgres"]["should_autocreate_tables"] = True
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (home / "dagster.yaml").chmod(0o600)


def installed_schema_head() -> str:
    """The alembic head revision of the installed dagster-postgres (what a migrated DB is stamped with)."""
    import dagster_postgres  # noqa: PLC0415 - heavy, only when asked
    from alembic.config import Config  # noqa: PLC0415
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    ini = Path(dagster_postgres.__file__).parent / "alembic" / "alembic.ini"
    heads = ScriptDirectory.from_config(Config(str(ini))).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"expected one alembic head in dagster-postgres, found {heads}")
    return str(heads[0])


async def db_schema_version(dsn: str) -> str | None:
    """The database's ``alembic_version`` (``dsn`` is a libpq URI), or None if the table does not exist."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL")
        row = await cur.fetchone()
        if not row or not row[0]:
            return None
        cur = await conn.execute("SELECT version_num FROM alembic_version")
        version = await cur.fetchone()
        return None if version is None else str(version[0])
