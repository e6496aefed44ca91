"""Supervision of the lab's real server processes: start, wait until ready, record, stop, verify.

The lab runs real servers (PostgreSQL, moto, Dagster) as child processes so floe-agents probes talk to the
software they diagnose. ``lab up`` and ``lab down`` are separate CLI invocations, so nothing here may depend
on in-memory handles: every started process gets a JSON record (PID, process group, kernel start time, ports,
log file) in ``<state>/procs/``; its output goes to ``<state>/logs/<name>.log`` rather than a pipe (a pipe
would die with the parent); readiness is decided from that log or from the network.

A server is more than its PID: Dagster forks workers into its process group, PostgreSQL gives every child its
own session (and overwrites their environment with the ps title). So a server's processes are its group,
its descendants, and anything still carrying its ``FLOE_LAB_PROC`` environment marker; stops and leak checks
use all three. The kernel start time guards against signalling an unrelated process that reused a PID.
Linux only (reads ``/proc``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar

import anyio
import httpx

from floe_lab.proctable import (
    MemUsage,
    free_port,
    free_ports,
    listener_pids,
    listening,
    marked_pids,
    memory_of,
    read_stat,
    server_pids,
)

__all__ = [
    "READY_BUDGET_S",
    "STOP_GRACE_S",
    "HttpReady",
    "LogReady",
    "MemUsage",
    "ProcRecord",
    "ProcSpec",
    "ProcStartError",
    "ReadyCheck",
    "StopResult",
    "TcpReady",
    "free_port",
    "free_ports",
    "is_alive",
    "kill_leftovers",
    "leftover_pids",
    "listener_pids",
    "listening",
    "live_pids",
    "load_records",
    "memory",
    "memory_of",
    "settle_spawns",
    "start",
    "stop",
    "stop_all",
]

LAB_ENV, PROC_ENV = "FLOE_LAB_STATE", "FLOE_LAB_PROC"
_POLL = 0.05
# Budgets for a busy 2-core machine (another lab, a test suite): at load 11 the kubelet took over 20 s to print
# READY. A budget is an upper bound: a quiet machine still starts in seconds, polled every _POLL.
READY_BUDGET_S = 120.0
STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class LogReady:
    """Ready once the process output matches ``pattern`` (a regex)."""

    pattern: str


@dataclass(frozen=True)
class TcpReady:
    """Ready once ``host:port`` accepts a TCP connection."""

    port: int
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class HttpReady:
    """Ready once a GET of ``url`` answers with a status below 500."""

    url: str


ReadyCheck = LogReady | TcpReady | HttpReady


@dataclass(frozen=True)
class ProcSpec:
    """What to run. ``env`` overrides the parent environment, ``unset`` removes from it (so the caller's
    settings cannot leak into a server), ``user`` (root only) switches the uid."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    unset: Sequence[str] = ()
    cwd: Path | None = None
    ports: Mapping[str, int] = field(default_factory=dict)
    ready: Sequence[ReadyCheck] = ()
    stop_signal: int = signal.SIGTERM
    user: str | None = None


@dataclass(frozen=True)
class ProcRecord:
    """What a later process needs to find, stop and check a started server (``pgid`` equals ``pid``)."""

    name: str
    pid: int
    start_ticks: int
    marker: str
    ports: dict[str, int]
    argv: list[str]
    log_path: str
    stop_signal: int
    started_at: float

    def log_tail(self, max_chars: int = 4000) -> str:
        """The end of the process output, for error messages."""
        try:
            return Path(self.log_path).read_bytes()[-max_chars:].decode(errors="replace")
        except OSError:
            return ""


@dataclass(frozen=True)
class StopResult:
    """How a stop went: ``how`` is ``signal`` (exited on its stop signal), ``kill`` or ``gone`` (was dead)."""

    name: str
    pid: int
    how: str
    seconds: float


class ProcStartError(RuntimeError):
    """A process exited or did not become ready in time; the message carries the end of its log."""


class ProcExitedError(ProcStartError):
    """The process ended before it was ready (rather than hanging): how it ended is in the message."""


def live_pids(rec: ProcRecord) -> list[int]:
    """The live processes of a recorded server: its group, its descendants, and carriers of its marker."""
    return server_pids(rec.pid, rec.start_ticks, f"{PROC_ENV}={rec.marker}")


def is_alive(rec: ProcRecord) -> bool:
    """Whether any process of the recorded server still runs. The leader running answers it from one ``/proc``
    read; only a gone leader needs the scan of every process (and its environment) for the rest of the server: the
    kubelet asks this of every adopted server at every sync, and the scan was most of an idle kubelet's CPU."""
    leader = read_stat(rec.pid)
    if leader is not None and leader.state not in "ZX" and (leader.ticks, leader.pgid) == (rec.start_ticks, rec.pid):
        return True  # the process started then, still leading the group it was started in
    return bool(live_pids(rec))


def leftover_pids(state_dir: Path) -> list[int]:
    """Live processes (and their descendants) carrying this lab's marker, whatever their record says."""
    return marked_pids(f"{LAB_ENV}={_abs(state_dir)}")


def memory(rec: ProcRecord) -> MemUsage:
    """Resident memory of a recorded server's processes, from ``/proc/<pid>/smaps_rollup``."""
    return memory_of(live_pids(rec))


def _abs(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _record_path(state_dir: Path, name: str) -> Path:
    return _abs(state_dir) / "procs" / f"{name}.json"


def load_records(state_dir: Path) -> list[ProcRecord]:
    """All records in ``state_dir``, oldest first."""
    folder = _abs(state_dir) / "procs"
    records = [ProcRecord(**json.loads(p.read_text())) for p in folder.glob("*.json")]
    return sorted(records, key=lambda r: r.started_at)


def _spawn(spec: ProcSpec, state_dir: Path) -> ProcRecord:
    for sub in ("procs", "logs"):
        (state_dir / sub).mkdir(parents=True, exist_ok=True)
    log_path, marker = state_dir / "logs" / f"{spec.name}.log", f"{state_dir}::{spec.name}"
    env = {key: value for key, value in os.environ.items() if key not in spec.unset}
    env.update({**spec.env, LAB_ENV: str(state_dir), PROC_ENV: marker})
    group = None
    if spec.user is not None:
        import pwd  # noqa: PLC0415 - POSIX only, and only needed when switching user

        group = pwd.getpwnam(spec.user).pw_gid
    with log_path.open("wb") as log:
        child = subprocess.Popen(  # noqa: S603 - argv comes from the lab's own code
            list(spec.argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=spec.cwd,
            start_new_session=True,
            user=spec.user,
            group=group,
            extra_groups=None if spec.user is None else [],
        )
    st = read_stat(child.pid)
    child.returncode = 0  # the record, not this object, owns the process now (no "still running" warning)
    rec = ProcRecord(
        name=spec.name,
        pid=child.pid,
        start_ticks=st.ticks if st else 0,
        marker=marker,
        ports=dict(spec.ports),
        argv=list(spec.argv),
        log_path=str(log_path),
        stop_signal=int(spec.stop_signal),
        started_at=time.time(),
    )
    path = _record_path(state_dir, spec.name)
    path.with_suffix(".tmp").write_text(json.dumps(asdict(rec), indent=2))
    path.with_suffix(".tmp").replace(path)
    return rec


class _Spawn:
    """One spawn handed to a worker thread. A native cancel (SIGINT/SIGTERM in ``lab up``) does not wait for the
    thread: the spawn then either never runs (abandoned while queued) or runs to the end, and a cleanup waits for
    the running ones (:func:`settle_spawns`) so it sees their records."""

    lock = threading.Lock()
    running: ClassVar[set[int]] = set()

    def __init__(self) -> None:
        self.state = "queued"

    def run(self, spec: ProcSpec, state_dir: Path) -> ProcRecord | None:
        with self.lock:
            if self.state == "abandoned":
                return None
            self.state = "running"
            self.running.add(id(self))
        try:
            return _spawn(spec, state_dir)
        finally:
            with self.lock:
                self.state = "done"
                self.running.discard(id(self))

    def abandon(self) -> None:
        with self.lock:
            if self.state == "queued":
                self.state = "abandoned"


async def settle_spawns(within: float = READY_BUDGET_S) -> None:
    """Wait until no spawn is running, so a cleanup sees the record of a process started while it was cancelled."""
    with anyio.move_on_after(within, shield=True):
        while _Spawn.running:  # noqa: ASYNC110 - worker threads empty it
            await anyio.sleep(_POLL)


async def start(state_dir: Path, spec: ProcSpec, *, ready_within: float = READY_BUDGET_S) -> ProcRecord:
    """Start ``spec`` detached, record it, and wait for every ready check; on failure stop it and raise."""
    job = _Spawn()
    try:
        rec = await anyio.to_thread.run_sync(job.run, spec, _abs(state_dir))
    except BaseException:
        job.abandon()
        raise
    assert rec is not None  # only an abandoned spawn returns None, and then we did not get here
    try:
        with anyio.fail_after(ready_within):
            for check in spec.ready:
                await _wait_ready(rec, check)
    except TimeoutError:
        await stop(state_dir, rec)
        raise ProcStartError(
            f"{spec.name} not ready after {ready_within:g}s (its log: {rec.log_path}):\n{rec.log_tail()}"
        ) from None
    except ProcStartError:
        await stop(state_dir, rec)
        raise
    return rec


def _reap(pid: int) -> int | None:
    """Collect the exit status if ``pid`` is our child, so it does not linger as a zombie; the raw status, or
    None when it still runs or is not ours."""
    with contextlib.suppress(ChildProcessError):
        done, status = os.waitpid(pid, os.WNOHANG)
        return status if done else None
    return None


def how_it_ended(status: int | None) -> str:
    """``exit code N`` or ``killed by SIGNAME`` from a wait status; ``ended`` when the status was not ours to read.
    Why: a server that dies before writing a line leaves an empty log, and then only this says what happened."""
    if status is None:
        return "ended"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def _check_running(rec: ProcRecord) -> None:
    # Look first, reap after: reaping first races an exit between the two reads (a zombie, its status unread).
    st = read_stat(rec.pid)
    if st is None or st.state in "ZX" or st.ticks != rec.start_ticks:
        status = _reap(rec.pid)
        raise ProcExitedError(
            f"{rec.name} exited before it was ready ({how_it_ended(status)}; its log: {rec.log_path}):\n"
            f"{rec.log_tail() or '(the log is empty)'}"
        )


async def _wait_ready(rec: ProcRecord, check: ReadyCheck) -> None:
    if isinstance(check, LogReady):
        pattern, seen = re.compile(check.pattern, re.MULTILINE), ""
        async with await anyio.open_file(rec.log_path, "rb") as log:
            while not pattern.search(seen := (seen + (await log.read()).decode(errors="replace"))[-65536:]):
                _check_running(rec)
                await anyio.sleep(_POLL)
        return
    async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
        while True:
            _check_running(rec)
            with contextlib.suppress(OSError, httpx.HTTPError):
                if isinstance(check, TcpReady):
                    await (await anyio.connect_tcp(check.host, check.port)).aclose()
                    return
                if (await client.get(check.url)).status_code < 500:
                    return
            await anyio.sleep(_POLL)


def _signal(rec: ProcRecord, sig: int, pids: Sequence[int]) -> None:
    """``sig`` to the leader's group (if the leader is still ours) and to each of ``pids`` outside it."""
    leader = read_stat(rec.pid)
    if leader is not None and leader.ticks == rec.start_ticks:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(rec.pid, sig)
    for pid in pids:
        if (st := read_stat(pid)) is not None and st.pgid != rec.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


async def _wait_gone(rec: ProcRecord, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while True:
        _reap(rec.pid)
        left = await anyio.to_thread.run_sync(live_pids, rec)
        if not left or time.monotonic() >= deadline:
            return left
        await anyio.sleep(_POLL)


async def stop(state_dir: Path, rec: ProcRecord, *, grace: float = STOP_GRACE_S) -> StopResult:
    """Signal the server, SIGKILL whatever is left of it after ``grace``, and drop its record.

    The stop signal goes to the leader's group and to the top of any other tree of the server's processes
    (orphans of an earlier run), not to every process, so a server shuts its own children down in order
    (PostgreSQL's fast shutdown); whatever survives ``grace`` is killed process by process.
    """
    began, how = time.monotonic(), "gone"
    if pids := await anyio.to_thread.run_sync(live_pids, rec):
        stats = {pid: read_stat(pid) for pid in pids}
        roots = [pid for pid, st in stats.items() if st is not None and st.ppid not in stats]
        _signal(rec, rec.stop_signal, roots)  # the tops of each tree; they stop their own children
        how = "signal"
        if left := await _wait_gone(rec, grace):
            _signal(rec, signal.SIGKILL, left)
            how = "kill"
            await _wait_gone(rec, 2.0)
    _reap(rec.pid)
    await anyio.to_thread.run_sync(lambda: _record_path(state_dir, rec.name).unlink(missing_ok=True))
    return StopResult(rec.name, rec.pid, how, time.monotonic() - began)


def kill_leftovers(state_dir: Path) -> list[int]:
    """SIGKILL every live process still carrying this lab's marker (what no record names any more); their PIDs."""
    left = leftover_pids(state_dir)
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for pid in left:
        _reap(pid)
    return left


async def stop_all(
    state_dir: Path, *, grace: float = STOP_GRACE_S, last: Sequence[str] = ("postgres", "s3")
) -> list[StopResult]:
    """Stop every recorded server of ``state_dir``: all at once, except the storage named in ``last``, which
    goes once the rest are down (so Dagster and the catalog do not spend their shutdown retrying the DB)."""
    results: list[StopResult] = []

    async def _one(rec: ProcRecord) -> None:
        results.append(await stop(state_dir, rec, grace=grace))

    records = await anyio.to_thread.run_sync(load_records, state_dir)
    for wave in ([r for r in records if r.name not in last], [r for r in records if r.name in last]):
        async with anyio.create_task_group() as tg:
            for rec in wave:
                tg.start_soon(_one, rec)
    return results
