"""The lab's Dagster schema helpers: the installed alembic head, a database's version, and ``migrate``.

"Unmigrated schema" is one of the seed report's faults: the installed dagster-postgres alembic head versus the
database's ``alembic_version`` is exactly what a probe compares, and ``dagster instance migrate`` is the fix a
healer runs. The three Dagster processes themselves are started by the lab's kubelet, as pods
(:mod:`floe_lab.launchers`), from ``DEMO_MODULE``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import anyio
import psycopg
import yaml

__all__ = [
    "DEMO_MODULE",
    "db_schema_version",
    "installed_schema_head",
    "migrate",
]

DEMO_MODULE = "floe_lab.dagster_site.floe_demo.definitions"
_DAGSTER_VARS = ("DAGSTER_HOME", "DAGSTER_PG_PASSWORD")
_IMPORT_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding ``floe_lab``


def _exe(name: str) -> str:
    """A console script of this interpreter's environment (the venv's), else from PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def _env(instance_dir: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    python_path = os.pathsep.join(filter(None, [_IMPORT_ROOT, os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": python_path, "DAGSTER_HOME": str(instance_dir), **(env or {})}


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
