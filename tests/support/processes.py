"""Real server processes in tests: a real PostgreSQL for the length of a block, and the proof that nothing is left.

The servers are real processes; what every test must be able to prove at the end is that they are gone: no
recorded process alive, none of the lab's descendants left, and nothing listening on the ports they had.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from floe_lab import procs
from floe_lab.postgres import Postgres, remove_data, start_postgres

PG_PASSWORD = "floe-postgres"  # the password the seed report's fix put in the chart's secret


def assert_nothing_left(state_dir: Path, ports: Iterable[int]) -> None:
    """No process of this lab alive, no record left, nothing listening on ``ports``."""
    assert procs.leftover_pids(state_dir) == []
    assert procs.load_records(state_dir) == []
    assert procs.listening(list(ports)) == []


@asynccontextmanager
async def real_postgres_running(state_dir: Path, *databases: str) -> AsyncIterator[Postgres]:
    """A real PostgreSQL for the duration of the block (with the lab databases plus ``databases``)."""
    pg = await start_postgres(state_dir, password=PG_PASSWORD, databases=("dagster", "polaris", "marquez", *databases))
    try:
        yield pg
    finally:
        await procs.stop_all(state_dir)
    assert_nothing_left(state_dir, [pg.port])
    remove_data(state_dir)
