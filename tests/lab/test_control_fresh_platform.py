"""A healthy platform whose first pipeline run has not happened yet is *degraded*, not failing.

Jaeger and Marquez hear from the platform only when a pipeline runs, so right after an install they are empty.
The healthy lab is brought up without its demo run and investigated with the real CLI: the only root cause is
`no-pipeline-run-yet`, nothing is left unexplained, and the exit code is 1 (degraded), not 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from floe_lab.control import lab_down, lab_up
from floe_lab.scenario import load_scenario
from tests.support.lab import cli

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def fresh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    state = tmp_path_factory.mktemp("lab-fresh")
    anyio.run(lambda: lab_up(state, load_scenario("healthy"), lambda _: None, run_pipeline=False))
    try:
        yield state
    finally:
        anyio.run(lambda: lab_down(state, lambda _: None))


def test_a_platform_that_has_not_run_yet_is_degraded(fresh_lab: Path) -> None:
    result = cli("investigate", "--target", str(fresh_lab / "targets.yaml"), "--json", timeout=60)
    report = json.loads(result.stdout)
    assert [c["rule"] for c in report["root_causes"]] == ["no-pipeline-run-yet"]
    assert report["other_findings"] == []
    symptoms = {s["finding"]["component"] for s in report["root_causes"][0]["symptoms"]}
    assert symptoms == {"jaeger", "marquez"}
    assert (result.returncode, report["overall"]) == (1, "warn"), result.stderr
