"""The real `floe-agents` executable, end to end: exit codes, report destinations, bad input, the deadline."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import pytest
import yaml
from aiohttp import web

from floe_agents.report.model import Report
from tests.support.net import closed_port, serve

EXE = str(Path(sys.executable).with_name("floe-agents"))


def write_targets(tmp_path: Path, components: dict[str, object], **extra: object) -> Path:
    path = tmp_path / "targets.yaml"
    # Replace the built-in components entirely: disable every default not named here.
    defaults = [
        "postgres",
        "s3",
        "polaris",
        "jaeger",
        "marquez",
        "dagster-webserver",
        "dagster-user-code",
        "dagster-daemon",
        "iceberg",
        "cube",
        "kubernetes",
    ]
    comps = {name: {"enabled": False} for name in defaults}
    comps.update(components)  # type: ignore[arg-type]
    path.write_text(yaml.safe_dump({"components": comps, **extra}))
    return path


async def run(*args: str, limit_s: float = 30) -> tuple[int, str, str, float]:
    t0 = time.monotonic()
    with anyio.fail_after(limit_s):
        result = await anyio.run_process([EXE, *args], check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode(), time.monotonic() - t0


@pytest.fixture
async def healthy_server() -> AsyncIterator[int]:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"status": "UP"})

    app = web.Application()
    app.router.add_get("/health", ok)
    async with serve(app) as base:
        yield int(base.rsplit(":", 1)[1])


async def test_unreachable_platform_reports_failures_and_exits_2_within_the_deadline(tmp_path: Path) -> None:
    targets = write_targets(
        tmp_path,
        {
            "postgres": {"endpoints": {"sql": {"urls": {"local": f"postgresql://127.0.0.1:{closed_port()}"}}}},
            "s3": {"endpoints": {"api": {"urls": {"local": "http://floe-infra-localstack:4566"}}}},
            "polaris": {
                "endpoints": {
                    "api": {"urls": {"local": f"http://127.0.0.1:{closed_port()}"}, "health_path": "/q/health/ready"}
                }
            },
        },
        vantages={"local": {"resolver": "hosts", "hosts": {}}},
    )
    report = tmp_path / "out" / "report.md"
    code, out, err, elapsed = await run(
        "investigate", "--target", str(targets), "--timeout", "5", "--report", str(report)
    )
    assert code == 2, err
    assert elapsed < 5 + 5, f"took {elapsed:.1f}s"
    text = report.read_text()
    assert "FAILING" in text and "`tcp.refused`" in text and "`tcp.unreachable`" in text
    assert "floe-infra-localstack does not resolve from local" in text
    assert out == "" and "report written to" in err and "Traceback" not in err
    # Postgres and the catalog both refuse on 127.0.0.1: each refusal asks host_down, one verdict is shown once.
    assert err.count("tcp.host_down") == 1, err


async def test_json_report_on_stdout_validates_against_the_model(tmp_path: Path, healthy_server: int) -> None:
    targets = write_targets(
        tmp_path,
        {
            "webapp": {
                "endpoints": {
                    "api": {"urls": {"local": f"http://127.0.0.1:{healthy_server}"}, "health_path": "/health"}
                }
            },
        },
    )
    code, out, err, _ = await run("investigate", "--target", str(targets), "--json", "--log-level", "info")
    assert code == 0, err
    report = Report.model_validate(json.loads(out))
    assert report.exit_code == 0 and report.overall.value == "ok" and report.root_causes == []
    assert {f.code for f in report.findings} == {"dns.resolved", "tcp.open", "http.healthy"}
    # Logs went to stderr as JSON lines, never into the report.
    log_lines = [line for line in err.splitlines() if line.startswith("{")]
    assert log_lines, err  # not vacuous: --log-level info logs the run's start and end
    assert all("event" in json.loads(line) for line in log_lines)


async def test_only_and_skip_select_agents(tmp_path: Path, healthy_server: int) -> None:
    ep = {"endpoints": {"api": {"urls": {"local": f"http://127.0.0.1:{healthy_server}"}, "health_path": "/health"}}}
    targets = write_targets(tmp_path, {"webapp": ep, "webapi": ep, "webui": ep})
    code, out, _, _ = await run(
        "investigate", "--target", str(targets), "--json", "--only", "webapp,webapi", "--skip", "webapi"
    )
    assert code == 0
    assert {c["component"] for c in json.loads(out)["components"]} == {"webapp"}


BAD_INPUTS: list[tuple[str, Callable[[Path], list[str]], str]] = [
    ("missing config", lambda p: ["--config", str(p / "nope.yaml")], "nope.yaml: file not found"),
    ("bad yaml", lambda p: ["--config", str(_write(p / "p.yaml", "storage: [unclosed"))], "invalid YAML at line"),
    (
        "unknown field",
        lambda p: ["--config", str(_write(p / "p.yaml", "storgae: {}\n"))],
        "p.yaml: storgae: unknown field",
    ),
    (
        "wrong type",
        lambda p: ["--config", str(_write(p / "p.yaml", "storage: {bronze: {bucket: [1]}}\n"))],
        "p.yaml: storage.bronze.bucket: ",
    ),
    (
        "bad targets",
        lambda p: ["--target", str(_write(p / "t.yaml", "vantage: moon\n"))],
        "vantage 'moon' is not declared",
    ),
    ("unknown component", lambda p: ["--only", "postgress"], "unknown component(s) postgress"),
    ("no lab", lambda p: ["--target", "lab"], "no running lab"),
    (
        "bad rules",
        lambda p: ["--rules", str(_write(p / "r.yaml", "rules: [{id: x, title: t, cause: {codez: [a.b]}}]\n"))],
        "r.yaml: rules[0].cause.codez: ",
    ),
    ("missing rules", lambda p: ["--rules", str(p / "absent.yaml")], "absent.yaml: cannot read rules file"),
]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(("name", "args", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
async def test_bad_input_is_one_clear_line_and_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, args: Callable[[Path], list[str]], message: str
) -> None:
    monkeypatch.setenv("FLOE_AGENTS_LAB_DIR", str(tmp_path / "no-lab"))
    code, out, err, _ = await run("investigate", *args(tmp_path))
    assert code == 3
    assert out == ""
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("floe-agents: error: ") and message in err, err


async def test_probes_command_lists_builtin_probes() -> None:
    code, out, _, _ = await run("probes")
    assert code == 0
    for name in ("dns", "tcp", "http_health", "resolve_everywhere"):
        assert name in out


def test_live_progress_table_on_a_terminal(tmp_path: Path) -> None:
    """On a TTY, stderr shows rich's live per-agent table; the report still goes to its own file."""
    targets = write_targets(
        tmp_path, {"cube": {"endpoints": {"api": {"urls": {"local": f"http://127.0.0.1:{closed_port()}"}}}}}
    )
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [EXE, "investigate", "--target", str(targets), "--report", str(tmp_path / "r.md")],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        # A terminal that can draw, whatever the caller's TERM (CI runs with TERM=dumb, where rich draws nothing live).
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "50"},
    )
    os.close(slave)
    seen = b""
    # Read to the end of the output: generous waits, since a loaded machine can be silent for many seconds.
    while select.select([master], [], [], 120)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=120) == 2
    os.close(master)
    text = seen.decode(errors="replace")
    assert "floe-agents: investigating" in text and "┃" in text and "cube" in text
    assert "report written to" in text and (tmp_path / "r.md").read_text().startswith("# Floe platform")


async def test_user_rules_are_added_to_the_builtin_ones(tmp_path: Path) -> None:
    port = closed_port()
    targets = write_targets(
        tmp_path, {"webapp": {"endpoints": {"api": {"urls": {"local": f"http://127.0.0.1:{port}"}}}}}
    )
    rule = {
        "id": "webapp-down",
        "title": "webapp is not running on {subject}",
        "cause": {"codes": ["tcp.refused"], "components": ["webapp"]},
        "priority": 500,
        "remediation": {"manual": ["systemctl start webapp"]},
    }
    rules = _write(tmp_path / "rules.yaml", yaml.safe_dump({"rules": [rule]}))
    code, out, err, _ = await run("investigate", "--target", str(targets), "--json", "--rules", str(rules))
    assert code == 2, err
    [cause] = json.loads(out)["root_causes"]
    assert (cause["rule"], cause["title"]) == ("webapp-down", f"webapp is not running on 127.0.0.1:{port}")
    assert cause["remediation"]["manual"] == ["systemctl start webapp"]
