"""Every lab scenario, brought up with the real CLI, leaves exactly its expected faults on the real servers.

One session-scoped lab per scenario (pytest groups the tests by it), started with `floe-agents lab up` and
stopped with `floe-agents lab down`, which must leave nothing listening. The checks in ``lab_states`` talk to
the servers directly (Kubernetes API, PostgreSQL, the catalog, Jaeger, Marquez), never through floe-agents.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from floe_agents.lab.dagster_runs import wait_for_run
from floe_agents.lab.scenario import load_scenario, scenario_names
from tests.lab.lab_states import STATES, LabHandle

pytestmark = pytest.mark.lab
EXE = str(Path(sys.executable).with_name("floe-agents"))


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session", params=scenario_names())
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    state = tmp_path_factory.mktemp(f"lab-{request.param}")
    up = cli("lab", "up", "--scenario", request.param, "--state", str(state))
    try:
        assert up.returncode == 0, up.stderr[-4000:]
        handle = LabHandle.load(state)
        run_id = handle.info.get("run_id")
        if run_id:  # let the pipeline run (and its telemetry) finish before judging the lab
            anyio.run(lambda: wait_for_run(handle.url("floe-dagster-dagster-webserver", "http"), run_id))
        yield handle
    finally:
        down = cli("lab", "down", "--state", str(state), timeout=60)
        assert down.returncode == 0, down.stderr
        assert "nothing left listening" in down.stderr


def test_scenario_faults_are_really_present(lab: LabHandle) -> None:
    scenario = load_scenario(lab.info["scenario"])
    observed = {name for name, check in STATES.items() if check(lab)}
    assert observed == set(scenario.expect), f"{scenario.name}: observed {sorted(observed)}"


def test_lab_status_reports_processes_and_pods(lab: LabHandle) -> None:
    status = cli("lab", "status", "--state", str(lab.state_dir), timeout=30)
    assert status.returncode == 0, status.stderr
    assert "kube-apiserver" in status.stdout and "floe-infra-polaris" in status.stdout
    if "secret-missing" in load_scenario(lab.info["scenario"]).expect:
        assert "CreateContainerConfigError" in status.stdout


def test_investigate_against_the_lab(lab: LabHandle) -> None:
    result = cli("investigate", "--target", str(lab.state_dir / "targets.yaml"), "--json", timeout=60)
    report = json.loads(result.stdout)
    scenario = load_scenario(lab.info["scenario"])
    if scenario.name == "healthy":
        assert result.returncode == 0, [f["summary"] for f in report["other_findings"]]
    if "secret-missing" in scenario.expect:
        # The Dagster webserver never starts: its port refuses, and the report says so.
        assert result.returncode == 2
        assert any(rc["component"] == "dagster-webserver" for rc in report["root_causes"])


def test_demo_brings_up_the_seed_lab_investigates_and_stops(tmp_path: Path) -> None:
    """The README's main job: `floe-agents demo` (lab up seed -> investigate -> report path) with --down."""
    report = tmp_path / "report.md"
    result = cli("demo", "--state", str(tmp_path / "lab"), "--report", str(report), "--down")
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"report: {report}" in result.stdout
    text = report.read_text()
    assert "FAILING" in text and "dagster-webserver" in text
    assert "nothing left listening" in result.stderr
