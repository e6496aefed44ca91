"""`--log-level` (finding 10): debug shows the run as it happens, JSON lines on stderr when it is not a terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
import yaml

from floe_agents.cli.logs import configure_logging
from floe_agents.redact import Redactor
from tests.support.net import closed_port

EXE = str(Path(sys.executable).with_name("floe-agents"))


def _targets(tmp_path: Path) -> Path:
    defaults = ["postgres", "s3", "polaris", "jaeger", "marquez", "dagster-webserver", "dagster-user-code"]
    defaults += ["dagster-daemon", "iceberg", "cube", "kubernetes"]
    comps: dict[str, object] = {name: {"enabled": False} for name in defaults}
    comps["webapp"] = {"endpoints": {"api": {"urls": {"local": f"http://127.0.0.1:{closed_port()}"}}}}
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"components": comps}))
    return path


def _log_lines(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def _investigate(tmp_path: Path, level: str) -> subprocess.CompletedProcess[str]:
    args = ["investigate", "--target", str(_targets(tmp_path)), "--report", str(tmp_path / "r.md")]
    return subprocess.run([EXE, *args, "--log-level", level], capture_output=True, text=True, timeout=60, check=False)


def test_debug_logs_every_event_as_json_lines_on_stderr(tmp_path: Path) -> None:
    result = _investigate(tmp_path, "debug")
    assert result.returncode == 2, result.stderr
    logs = _log_lines(result.stderr)
    assert logs, f"no log line at all: {result.stderr}"  # an all(...) below must not pass on nothing
    assert all({"event", "level", "timestamp"} <= set(line) for line in logs)
    events = {(line["level"], line["event"]) for line in logs}
    assert {("debug", "agent started"), ("debug", "finding"), ("debug", "agent finished")} <= events
    assert ("info", "investigated") in events
    [refused] = [line for line in logs if line["event"] == "finding" and line["code"] == "tcp.refused"]
    assert refused["component"] == "webapp" and refused["status"] == "fail"
    assert result.stdout == ""  # logs never go where a report may be written


def test_warning_level_logs_no_debug_or_info(tmp_path: Path) -> None:
    result = _investigate(tmp_path, "warning")
    assert result.returncode == 2, result.stderr
    assert _log_lines(result.stderr) == []
    assert "report written to" in result.stderr


def test_a_logged_traceback_is_one_scrubbed_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("debug", Redactor.of(["s3cr3t-token-value"]), json_logs=True)
    try:
        raise RuntimeError("login with s3cr3t-token-value failed")
    except RuntimeError:
        structlog.get_logger("test").debug("investigation crashed", exc_info=True)
    finally:
        structlog.reset_defaults()  # the configuration is global: leave none pointing at this test's stderr
    [line] = capsys.readouterr().err.splitlines()
    logged = json.loads(line)
    assert logged["event"] == "investigation crashed" and "RuntimeError" in logged["exception"]
    assert "s3cr3t-token-value" not in line
