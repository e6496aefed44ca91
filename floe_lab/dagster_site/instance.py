"""Render the Dagster instance (``dagster.yaml``) the lab's processes use (the workspace is the launchers').

Floe's chart stores Dagster's runs, events and schedules in PostgreSQL, and two of the seed report's faults
live exactly there: the DB password comes from a Kubernetes secret (``DAGSTER_PG_PASSWORD``; missing secret,
no storage) and the schema is alembic-managed (unmigrated schema). So the instance can take its password from
an environment variable, as the chart does, and table auto-creation can be switched off, so an unmigrated
database stays unmigrated until ``dagster instance migrate`` runs. The scheme is pinned to
``postgresql+psycopg2``: SQLAlchemy 2.1 would pick psycopg 3, with which Dagster's LISTEN/NOTIFY fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

__all__ = [
    "LOCATION_NAME",
    "PG_SCHEME",
    "PgSettings",
    "render_dagster_yaml",
    "write_instance",
]

PG_SCHEME = "postgresql+psycopg2"
LOCATION_NAME = "floe-demo"


@dataclass(frozen=True)
class PgSettings:
    """Where Dagster's storage lives."""

    host: str
    port: int
    user: str
    password: str
    database: str = "dagster"

    def url(self) -> str:
        """The SQLAlchemy URL Dagster gets, with the psycopg2 scheme."""
        auth = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return f"{PG_SCHEME}://{auth}@{self.host}:{self.port}/{self.database}"


def render_dagster_yaml(
    pg: PgSettings, instance_dir: Path, *, autocreate_tables: bool = True, password_env: str | None = None
) -> str:
    """The ``dagster.yaml`` text.

    With ``password_env`` the password is not written: Dagster reads it from that environment variable at
    start (``postgres_db`` form, as Floe's chart does with ``DAGSTER_PG_PASSWORD``), so a process started
    without it fails the way a pod without its secret does. Otherwise a full ``postgres_url`` is written.
    """
    storage: dict[str, Any] = {"should_autocreate_tables": autocreate_tables}
    if password_env is None:
        storage["postgres_url"] = pg.url()
    else:
        storage["postgres_db"] = {
            "username": pg.user,
            "password": {"env": password_env},
            "hostname": pg.host,
            "db_name": pg.database,
            "port": pg.port,
            "scheme": PG_SCHEME,
        }
    config: dict[str, Any] = {
        "storage": {"postgres": storage},
        "run_coordinator": {
            "module": "dagster._core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {"max_concurrent_runs": 2, "dequeue_interval_seconds": 1},
        },
        "local_artifact_storage": {
            "module": "dagster._core.storage.root",
            "class": "LocalArtifactStorage",
            "config": {"base_dir": str(instance_dir / "storage")},
        },
        "compute_logs": {
            "module": "dagster._core.storage.local_compute_log_manager",
            "class": "LocalComputeLogManager",
            "config": {"base_dir": str(instance_dir / "compute_logs")},
        },
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write_instance(
    instance_dir: Path, pg: PgSettings, *, autocreate_tables: bool = True, password_env: str | None = None
) -> Path:
    """Write ``<instance_dir>/dagster.yaml`` (``instance_dir`` is ``DAGSTER_HOME``); returns the file."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "dagster.yaml"
    text = render_dagster_yaml(pg, instance_dir, autocreate_tables=autocreate_tables, password_env=password_env)
    path.write_text(text)
    path.chmod(0o600)  # it may hold the DB password
    return path
