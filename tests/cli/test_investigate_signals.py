"""Interrupted runs say so (finding 6, its SIGINT/SIGTERM half): never "hit the deadline", the old report intact.

A real `floe-agents investigate` against a loopback port that never answers; the signal is sent once the run has
started (its "investigating" progress line is on stderr), well before the deadline.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.support.net import black_hole

EXE = str(Path(sys.executable).with_name("floe-agents"))
OLD = "# the old report\nleft exactly as it was\n"
DEADLINE_S = 120


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["INT", "TERM"])
def test_a_signal_interrupts_the_run_and_leaves_the_old_report(tmp_path: Path, signum: int, code: int) -> None:
    defaults = ["postgres", "s3", "polaris", "jaeger", "marquez", "dagster-webserver", "dagster-user-code"]
    defaults += ["dagster-daemon", "iceberg", "cube", "kubernetes"]
    comps: dict[str, object] = {name: {"enabled": False} for name in defaults}
    report = tmp_path / "report.md"
    report.write_text(OLD)
    with black_hole() as port:
        comps["webapp"] = {"endpoints": {"api": {"urls": {"local": f"http://127.0.0.1:{port}"}}}}
        targets = tmp_path / "targets.yaml"
        targets.write_text(yaml.safe_dump({"components": comps}))
        argv = [EXE, "investigate", "--target", str(targets), "--timeout", str(DEADLINE_S), "--report", str(report)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            first = proc.stderr.readline()  # blocks until the run has started (signal handlers are in place)
            assert first.startswith("floe-agents: investigating"), first
            t0 = time.monotonic()
            proc.send_signal(signum)
            rest = proc.stderr.read()
            returncode = proc.wait(timeout=60)
            elapsed = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert returncode == code, rest
    name = signal.Signals(signum).name
    assert f"floe-agents: interrupted by {name}: no report written; {report} left as it was" in rest
    assert "deadline" not in rest and "Traceback" not in rest
    assert elapsed < DEADLINE_S / 2, f"took {elapsed:.1f}s after the signal"
    assert report.read_text() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md", "targets.yaml"]
