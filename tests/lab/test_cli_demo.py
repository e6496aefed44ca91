"""The README's main job, end to end: `floe-agents demo --down` on its own lab."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.lab import cli

pytestmark = pytest.mark.lab


def test_demo_investigates_the_seed_lab_heals_it_ends_green_and_stops(tmp_path: Path) -> None:
    """The README's main job: `floe-agents demo` (lab up seed → investigate → heal → investigate) with --down."""
    report = tmp_path / "report.md"
    result = cli("demo", "--state", str(tmp_path / "lab"), "--report", str(report), "--down", timeout=900)
    # The last investigation's exit code: every root cause healed, and nothing left: green.
    assert result.returncode == 0, result.stderr[-4000:]
    heal, after = tmp_path / "report-heal.md", tmp_path / "report-after.md"
    for what, path in (("diagnosis", report), ("heal", heal), ("after heal", after)):
        assert f"{what}: {path}" in result.stdout
    before_text = report.read_text()
    assert "FAILING" in before_text and "dagster-webserver" in before_text
    heal_text = heal.read_text()
    assert heal_text.startswith("# floe-agents heal: healed")
    assert "FAILED" not in heal_text and "Root causes after: none." in heal_text
    assert "missing-secret" in heal_text and "dagster-unmigrated-schema" in heal_text
    after_text = after.read_text()
    assert "No root cause found." in after_text
    assert "nothing left listening" in result.stderr
