"""The README's main job, end to end: `floe-agents demo --down` on its own lab."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.lab import cli

pytestmark = pytest.mark.lab


def test_demo_brings_up_the_seed_lab_investigates_and_stops(tmp_path: Path) -> None:
    """The README's main job: `floe-agents demo` (lab up seed -> investigate -> report path) with --down."""
    report = tmp_path / "report.md"
    result = cli("demo", "--state", str(tmp_path / "lab"), "--report", str(report), "--down")
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"report: {report}" in result.stdout
    text = report.read_text()
    assert "FAILING" in text and "dagster-webserver" in text
    assert "nothing left listening" in result.stderr
