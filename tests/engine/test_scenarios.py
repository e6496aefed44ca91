"""Scenario corpus: recorded findings replayed through the real bus and coordinator, checked against the
expected diagnosis (root causes in rank order, the symptoms folded under each, what stays unexplained)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

from floe_agents.bus import Bus
from floe_agents.coordinator import Coordinator
from floe_agents.events import RunRecord
from floe_agents.findings import Finding
from floe_agents.report.model import build_report

SCENARIOS = sorted(p for p in (Path(__file__).parent.parent / "scenarios").iterdir() if p.is_dir())


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_findings(path: Path) -> list[Finding]:
    return [
        Finding.model_validate({"summary": f"{item['code']} on {item.get('subject', '')}", **item})
        for item in load(path)
    ]


async def replay(findings: list[Finding]) -> Coordinator:
    coordinator = Coordinator()
    bus = Bus(buffer=4)
    sub = bus.subscribe("coordinator")
    pub = bus.publisher()
    bus.close()
    async with anyio.create_task_group() as tg:
        tg.start_soon(coordinator.consume, sub)
        async with pub:
            for f in findings:
                await pub.publish(f)
    return coordinator


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.name for p in SCENARIOS])
async def test_scenario(scenario: Path) -> None:
    findings = load_findings(scenario / "findings.yaml")
    expected = load(scenario / "expected.yaml")
    coordinator = await replay(findings)
    assert coordinator.received == len(findings)
    analysis = coordinator.analyze()

    assert analysis.overall.value == expected["overall"]
    got = [
        {
            "rule": rc.rule,
            "component": rc.component,
            "affected": list(rc.affected_components),
            "symptoms": sorted(s.finding.key for s in rc.symptoms),
        }
        for rc in analysis.root_causes
    ]
    want = [{**rc, "symptoms": sorted(rc["symptoms"])} for rc in expected["root_causes"]]
    assert got == want
    assert sorted(f.key for f in analysis.unexplained) == sorted(expected["unexplained"])
    # Every problem is accounted for exactly once: a cause, a folded symptom, or unexplained.
    problems = sorted(f.key for f in findings if f.is_problem)
    accounted = sorted(
        [rc.cause.key for rc in analysis.root_causes]
        + [s.finding.key for rc in analysis.root_causes for s in rc.symptoms]
        + [f.key for f in analysis.unexplained]
    )
    assert accounted == problems
    if "components" in expected:  # the health table agrees with the verdict (a capped symptom shows capped)
        report = build_report(analysis, RunRecord(), vantage="local", namespace="", wall_s=0, deadline_s=1, planned=[])
        health = {c.component: c.status.value for c in report.components}
        assert {name: health.get(name) for name in expected["components"]} == expected["components"]


async def test_evidence_chain_walks_the_dependency_path() -> None:
    findings = load_findings(SCENARIOS[0].parent / "s3-vantage-mismatch" / "findings.yaml")
    analysis = (await replay(findings)).analyze()
    root = analysis.root_causes[0]
    user_code = next(s for s in root.symptoms if s.finding.component == "dagster-user-code")
    assert [link.component for link in user_code.chain] == ["dagster-user-code", "s3"]
    cube = next(s for s in root.symptoms if s.finding.component == "cube")
    assert [link.component for link in cube.chain] == ["cube", "s3"]
    assert cube.chain[-1].code == "dns.vantage_mismatch"


async def test_latest_finding_per_key_wins_and_memory_is_per_key() -> None:
    f1 = Finding(component="s3", check="tcp", status="fail", code="tcp.refused", summary="down", subject="h:1")
    f2 = Finding.model_validate({**f1.model_dump(), "status": "ok", "code": "tcp.open", "summary": "up"})
    again = Finding.model_validate({**f1.model_dump(), "summary": "down again"})
    coordinator = await replay([f1, f2, again, f2])
    assert coordinator.received == 4
    assert list(coordinator.latest) == [f1.key] and coordinator.counts[f1.key] == 4
    assert coordinator.analyze().overall.value == "ok"
