"""Process supervision against real child processes: readiness, records, stops, escapes, cross-process down.

``lab up`` and ``lab down`` run in different processes, so the tests that matter most start servers in one
process and stop them from another, and check the kernel's view (``/proc``, listening sockets), not ours.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from floe_lab import procs

PY = sys.executable
IMPORT_ROOT = str(Path(procs.__file__).resolve().parents[2])


def _poll_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _py(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = procs.free_ports(5)
    assert len(set(ports)) == 5
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


async def test_start_waits_for_the_ready_line_then_stop_ends_it(tmp_path: Path) -> None:
    spec = procs.ProcSpec(
        name="echo",
        argv=_py("import time; time.sleep(0.3); print('READY echo', flush=True); time.sleep(60)"),
        ready=[procs.LogReady(r"^READY echo$")],
    )
    rec = await procs.start(tmp_path, spec, ready_within=10)
    assert "READY echo" in rec.log_tail()
    assert procs.is_alive(rec)
    assert [r.name for r in procs.load_records(tmp_path)] == ["echo"]
    assert procs.memory(rec).rss_bytes > 1_000_000
    result = await procs.stop(tmp_path, rec)
    assert result.how == "signal"
    assert not procs.is_alive(rec)
    assert procs.load_records(tmp_path) == []


async def test_http_readiness_and_ports_freed_after_stop(tmp_path: Path) -> None:
    port = procs.free_port()
    spec = procs.ProcSpec(
        name="http",
        argv=[PY, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        cwd=tmp_path,
        ports={"http": port},
        ready=[procs.HttpReady(f"http://127.0.0.1:{port}/")],
    )
    rec = await procs.start(tmp_path, spec)
    assert procs.listening([port]) == [port]
    await procs.stop(tmp_path, rec)
    assert procs.listening([port]) == []


async def test_a_process_ignoring_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    code = """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print('READY', flush=True)
        time.sleep(60)
    """
    rec = await procs.start(tmp_path, procs.ProcSpec(name="stubborn", argv=_py(code), ready=[procs.LogReady("READY")]))
    result = await procs.stop(tmp_path, rec, grace=0.3)
    assert result.how == "kill"
    assert not procs.is_alive(rec)


async def test_exit_before_ready_raises_with_the_log(tmp_path: Path) -> None:
    code = "import sys; print('config error: no such table', flush=True); sys.exit(3)"
    spec = procs.ProcSpec(name="crash", argv=_py(code), ready=[procs.LogReady("never")])
    with pytest.raises(procs.ProcExitedError, match=r"(?s)exit code 3.*no such table"):
        await procs.start(tmp_path, spec)
    assert procs.load_records(tmp_path) == []


async def test_a_silent_death_before_ready_says_how_it_ended(tmp_path: Path) -> None:
    """A server killed before writing a line leaves an empty log; the error then still says what happened."""
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    spec = procs.ProcSpec(name="silent", argv=_py(code), ready=[procs.LogReady("never")])
    with pytest.raises(procs.ProcExitedError, match=r"(?s)killed by SIGKILL.*\(the log is empty\)"):
        await procs.start(tmp_path, spec)


def test_how_it_ended_reads_wait_statuses() -> None:
    assert procs.how_it_ended(None) == "ended"
    assert procs.how_it_ended(3 << 8) == "exit code 3"
    assert procs.how_it_ended(signal.SIGTERM) == "killed by SIGTERM"
    assert procs.how_it_ended(100) == "killed by signal 100"


async def test_not_ready_in_time_is_stopped(tmp_path: Path) -> None:
    spec = procs.ProcSpec(name="slow", argv=_py("import time; time.sleep(60)"), ready=[procs.LogReady("READY")])
    with pytest.raises(procs.ProcStartError, match="not ready after"):
        await procs.start(tmp_path, spec, ready_within=0.5)
    assert procs.leftover_pids(tmp_path) == []


async def test_stop_reaches_forked_workers_and_escaped_descendants(tmp_path: Path) -> None:
    # One worker stays in the group, one escapes it with setsid (as PostgreSQL's children do).
    code = """
        import subprocess, time
        subprocess.Popen(["sleep", "60"])
        subprocess.Popen(["sleep", "61"], start_new_session=True)
        print("READY", flush=True)
        time.sleep(60)
    """
    rec = await procs.start(tmp_path, procs.ProcSpec(name="tree", argv=_py(code), ready=[procs.LogReady("READY")]))
    assert len(procs.live_pids(rec)) == 3
    assert len(procs.leftover_pids(tmp_path)) == 3
    await procs.stop(tmp_path, rec)
    assert procs.live_pids(rec) == []
    assert procs.leftover_pids(tmp_path) == []


async def test_orphans_of_a_dead_leader_are_found_by_marker_and_stopped(tmp_path: Path) -> None:
    code = """
        import subprocess, sys
        subprocess.Popen(["sleep", "60"], start_new_session=True)
        print("READY", flush=True)
    """
    rec = await procs.start(tmp_path, procs.ProcSpec(name="parent", argv=_py(code), ready=[procs.LogReady("READY")]))
    await anyio.to_thread.run_sync(_poll_until, lambda: rec.pid not in procs.live_pids(rec))
    orphans = procs.live_pids(rec)
    assert len(orphans) == 1
    assert procs.is_alive(rec)  # the leader is gone: the scan finds the orphan
    await procs.stop(tmp_path, rec)
    assert procs.leftover_pids(tmp_path) == []


async def test_a_running_leader_is_alive_without_scanning_every_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = await procs.start(tmp_path, procs.ProcSpec(name="x", argv=_py("import time; time.sleep(60)")))
    try:
        with monkeypatch.context() as patched:
            patched.setattr(procs, "live_pids", lambda _rec: pytest.fail("scanned /proc for a running leader"))
            assert procs.is_alive(rec)
    finally:
        await procs.stop(tmp_path, rec)
    assert not procs.is_alive(rec)


async def test_a_reused_pid_is_never_signalled(tmp_path: Path) -> None:
    bystander = await anyio.open_process(["sleep", "60"])
    try:
        rec = await procs.start(tmp_path, procs.ProcSpec(name="x", argv=_py("import time; time.sleep(60)")))
        await procs.stop(tmp_path, rec)
        stale = replace(rec, pid=bystander.pid, marker=f"{tmp_path}::nobody")  # same PID, other start time
        assert not procs.is_alive(stale)
        assert (await procs.stop(tmp_path, stale)).how == "gone"
        assert bystander.returncode is None
    finally:
        bystander.kill()
        await bystander.wait()


async def test_unset_keeps_the_callers_environment_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://leaked:4317")
    code = "import os; print('ENV', os.environ.get('OTEL_EXPORTER_OTLP_ENDPOINT'), os.environ['GIVEN'], flush=True)"
    spec = procs.ProcSpec(
        name="env",
        argv=_py(code),
        env={"GIVEN": "yes"},
        unset=["OTEL_EXPORTER_OTLP_ENDPOINT"],
        ready=[procs.LogReady(r"ENV .*")],
    )
    rec = await procs.start(tmp_path, spec)
    assert "ENV None yes" in rec.log_tail()
    await procs.stop(tmp_path, rec)


async def test_lab_down_from_another_process_stops_what_lab_up_started(tmp_path: Path) -> None:
    ports = procs.free_ports(2)
    up = f"""
        import anyio, sys
        from pathlib import Path
        from floe_lab import procs
        async def main():
            for i, port in enumerate({ports}):
                spec = procs.ProcSpec(name=f"http{{i}}", argv=[sys.executable, "-m", "http.server", "--bind",
                    "127.0.0.1", str(port)], ports={{"http": port}}, ready=[procs.TcpReady(port)])
                await procs.start(Path({str(tmp_path)!r}), spec)
        anyio.run(main)
    """
    env = {**os.environ, "PYTHONPATH": IMPORT_ROOT}
    await anyio.run_process(_py(up), env=env)  # "lab up" exits; its servers stay
    assert procs.listening(ports) == ports
    assert {r.name for r in procs.load_records(tmp_path)} == {"http0", "http1"}
    results = await procs.stop_all(tmp_path)  # "lab down", here
    assert {r.how for r in results} == {"signal"}
    assert procs.listening(ports) == []
    assert procs.leftover_pids(tmp_path) == []
    assert procs.load_records(tmp_path) == []


async def test_stop_signal_is_configurable(tmp_path: Path) -> None:
    code = """
        import signal, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
        print("READY", flush=True)
        time.sleep(60)
    """
    spec = procs.ProcSpec(name="int", argv=_py(code), ready=[procs.LogReady("READY")], stop_signal=signal.SIGINT)
    rec = await procs.start(tmp_path, spec)
    assert (await procs.stop(tmp_path, rec, grace=2)).how == "signal"
