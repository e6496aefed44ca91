"""Real server processes in tests: a real PostgreSQL for the length of a block, a lab server as its own process
(``python -m floe_lab.<server>``, which announces itself with one ``READY <url> ...`` line), and the proof that
nothing is left.

The servers are real processes; what every test must be able to prove at the end is that they are gone: no
recorded process alive, none of the lab's descendants left, and nothing listening on the ports they had.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio

from floe_lab import procs
from floe_lab.control import ports_still_held
from floe_lab.postgres import Postgres, remove_data, start_postgres

PG_PASSWORD = "floe-postgres"  # the password the seed report's fix put in the chart's secret


def assert_nothing_left(state_dir: Path, ports: Iterable[int]) -> None:
    """No process of this lab alive, no record left, and none of ``ports`` still held by this lab (a port the kernel
    gave to another test stream's server after this one let it go is not a leak: that false alarm failed CI)."""
    assert procs.leftover_pids(state_dir) == []
    assert procs.load_records(state_dir) == []
    held = ports_still_held(state_dir, list(ports))
    for _ in range(40):  # a killed process's sockets close as the kernel tears it down: moments, on a loaded machine
        if not held:
            break
        time.sleep(0.25)
        held = ports_still_held(state_dir, held)
    assert held == []


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


Started = tuple[subprocess.Popen[str], list[str]]


@contextmanager
def observability_process(*args: str, env: Mapping[str, str] | None = None) -> Iterator[Started]:
    """``python -m floe_lab.observability <args>`` as its own process (``env`` added to this one's); yields it and
    the words of its first line (``READY <url> key=url ...``); terminated and reaped afterwards."""
    with subprocess.Popen(
        [sys.executable, "-m", "floe_lab.observability", *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    ) as proc:
        try:
            assert proc.stdout is not None
            yield proc, proc.stdout.readline().split()
        finally:
            proc.terminate()
            proc.wait(timeout=10)


async def exit_code_on_sigterm(proc: subprocess.Popen[str]) -> int:
    """Send SIGTERM and wait (at most 10 s) for the process's exit code."""
    proc.terminate()
    return await anyio.to_thread.run_sync(lambda: proc.wait(timeout=10))


async def first_line(stream: AsyncIterable[bytes]) -> str:
    """The first line a process writes to ``stream`` (its ``READY`` line), without the newline."""
    buffer = b""
    async for chunk in stream:
        buffer += chunk
        if b"\n" in buffer:
            break
    return buffer.split(b"\n", 1)[0].decode()
