"""A hostile server against the real CLI: does a run stay small and end on time whatever a server sends?

For each mode a loopback HTTP server (127.0.0.1 only) answers every request in that way, every component of a
targets file points at it (the Kubernetes API too), and ``floe-agents investigate --timeout 5`` runs as a
subprocess. Printed per mode: the child's peak RSS (``resource.getrusage(RUSAGE_CHILDREN)``; each mode runs in a
fresh helper process so the figure is that run's), its wall time against the deadline + grace, and PASS/FAIL
against peak RSS <= 300 MB and wall <= deadline + grace. The wall time judged is the run's: from the CLI's
"investigating" line (the deadline's start) to the process's exit, report written; the whole process's time,
start-up included, is printed beside it (start-up is finding 13's, and on a loaded machine it dominates).

Modes: ``huge`` (a 2 GB body, streamed as fast as the client reads), ``drip`` (one byte a second, forever),
``silent`` (accepts, never answers), ``garbage`` (a 500 with random bytes, control characters included).

    .venv/bin/python -m bench.hostile [--mode huge] [--timeout 5]

Every loop is bounded: the server stops after the run (and after ``2 * (deadline + grace)`` in any case), the
body after 2 GB, the drip after 10 minutes, and the run is killed after ``deadline + 30 s``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from floe_agents.runner import RUN_GRACE_S

GRACE_S = RUN_GRACE_S  # the documented grace of a run past --timeout (floe_agents.runner.RUN_GRACE_S)
RSS_LIMIT_MB = 300
HUGE_BYTES = 2 * 1024**3
MODES = ("huge", "drip", "silent", "garbage")
ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / ".venv" / "bin" / "floe-agents"


def _serve_one(conn: socket.socket, mode: str, stop: threading.Event) -> None:
    conn.settimeout(1.0)
    try:
        with contextlib.suppress(TimeoutError):
            conn.recv(65536)  # the request (enough of it: the answer does not depend on it)
        if mode == "silent":
            stop.wait(600)
        elif mode == "huge":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
            )  # no length: the body runs until the connection closes
            chunk, sent = b"[" + b"1," * 32767 + b"1", 0
            while sent < HUGE_BYTES and not stop.is_set():
                conn.sendall(chunk)
                sent += len(chunk)
        elif mode == "drip":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
            for _ in range(600):
                if stop.wait(1.0):
                    break
                conn.sendall(b" ")
        else:  # garbage
            rng = random.Random(11)
            body = bytes(rng.randrange(256) for _ in range(64 * 1024))
            head = f"HTTP/1.1 500 Oops\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            conn.sendall(head.encode() + body)
            conn.recv(1)
    except OSError:
        pass
    finally:
        conn.close()


def serve(mode: str, stop: threading.Event) -> tuple[int, threading.Thread]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]

    def accept() -> None:
        with listener:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                threading.Thread(target=_serve_one, args=(conn, mode, stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    return port, thread


def targets_for(port: int) -> dict[str, object]:
    """Every component's every endpoint (and the Kubernetes API) at the hostile server."""
    from floe_agents.config.targets import default_targets_data  # noqa: PLC0415

    data = default_targets_data()
    url = f"http://127.0.0.1:{port}"
    for component in data["components"].values():
        for endpoint in component.get("endpoints", {}).values():
            endpoint["urls"] = {"local": url}
    data["vantage"] = "local"
    data["kubernetes"] = {"mode": "url", "url": url, "verify_tls": False}
    return data


def run_mode(mode: str, timeout_s: float) -> dict[str, object]:
    """One mode in this process: serve, run the CLI, measure."""
    stop = threading.Event()
    port, thread = serve(mode, stop)
    watchdog = threading.Timer(2 * (timeout_s + GRACE_S) + 30, stop.set)
    watchdog.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            targets = Path(tmp) / "targets.yaml"
            targets.write_text(yaml.safe_dump(targets_for(port)))
            report = Path(tmp) / "report.json"
            env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
            cmd = [str(CLI), "investigate", "--target", str(targets), "--timeout", f"{timeout_s:g}"]
            cmd += ["--json", "--report", str(report)]
            t0 = time.monotonic()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            killer = threading.Timer(timeout_s + 60, proc.kill)
            killer.start()
            started, tail = None, b""
            assert proc.stderr is not None
            for line in proc.stderr:  # ends when the run exits (or is killed)
                if started is None and b"investigating from" in line:
                    started = time.monotonic()
                tail = (tail + line)[-300:]
            proc.wait()
            killer.cancel()
            end = time.monotonic()
            wall, run_wall = end - t0, end - (started or t0)
            written = report.exists()
            longest = max((len(line) for line in report.read_text().splitlines()), default=0) if written else 0
    finally:
        stop.set()
        watchdog.cancel()
        thread.join(5)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "mode": mode,
        "exit": proc.returncode,
        "wall_s": round(wall, 2),
        "run_s": round(run_wall, 2),
        "bound_s": timeout_s + GRACE_S,
        "peak_rss_mb": round(peak_mb, 1),
        "report_written": written,
        "longest_report_line": longest,
        "stderr_tail": tail.decode(errors="replace") if proc.returncode == 3 else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=MODES, action="append")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # run one mode here, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_mode(args.mode[0], args.timeout)))
        return 0
    failed = 0
    print(f"deadline {args.timeout:g}s + grace {GRACE_S:g}s; limits: peak RSS <= {RSS_LIMIT_MB} MB, wall <= bound")
    for mode in args.mode or MODES:
        helper = [sys.executable, "-m", "bench.hostile", "--one", "--mode", mode, "--timeout", f"{args.timeout:g}"]
        out = subprocess.run(helper, capture_output=True, text=True, cwd=ROOT, timeout=args.timeout + 90, check=True)
        r = json.loads(out.stdout)
        ok = r["peak_rss_mb"] <= RSS_LIMIT_MB and r["run_s"] <= r["bound_s"] and r["report_written"]
        failed += not ok
        print(
            f"{'PASS' if ok else 'FAIL'} {mode:8} run {r['run_s']:6.2f}s (bound {r['bound_s']:g}s; "
            f"process {r['wall_s']:.2f}s with start-up)  "
            f"peak RSS {r['peak_rss_mb']:7.1f} MB  exit {r['exit']}  "
            f"report {'written' if r['report_written'] else 'MISSING'}"
            f"  longest report line {r['longest_report_line']}"
            + (f"\n      {r['stderr_tail']}" if r["stderr_tail"] else "")
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
