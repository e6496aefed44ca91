"""The report document: a stable, versioned schema (``docs/report.schema.json``) for CI and dashboards.

Bump :data:`REPORT_SCHEMA_VERSION` on any incompatible change; a test fails when the model and the committed
schema file drift apart, so a change to the contract is always deliberate.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from floe_agents import __version__
from floe_agents._frozen import Frozen as _Frozen
from floe_agents.analysis import Analysis, RootCause
from floe_agents.events import RunRecord
from floe_agents.findings import Finding, Status, worst_status
from floe_agents.redact import Redactor
from floe_agents.rules import fill

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "AgentTiming",
    "ComponentHealth",
    "Report",
    "build_report",
    "exit_code_for",
    "render_json",
    "scrub",
]

REPORT_SCHEMA_VERSION: Literal["1.0"] = "1.0"
ExitCode = Literal[0, 1, 2, 3]
EXIT_HEALTHY: Literal[0] = 0
EXIT_DEGRADED: Literal[1] = 1
EXIT_FAILING: Literal[2] = 2
EXIT_TOOL_ERROR: Literal[3] = 3


class ComponentHealth(_Frozen):
    component: str
    status: Status
    checks: int
    problems: int
    explained_by: list[str] = Field(default_factory=list, description="Root-cause rule ids folding its problems.")
    summary: str = ""
    observed: bool = Field(default=True, description="False: an agent ran but nothing was observable from here.")


class AgentTiming(_Frozen):
    component: str
    duration_s: float
    probes: dict[str, float]
    deadline_hit: bool = False


class Report(_Frozen):
    # Every field is always written, so the schema requires each one (a document without ``schema_version`` is
    # not a report of this version); the model still forbids unknown fields (``additionalProperties: false``).
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    schema_version: Literal["1.0"] = Field(
        default=REPORT_SCHEMA_VERSION, description="The report format's version (bumped on incompatible changes)."
    )
    tool_version: str = __version__
    generated_at: datetime
    vantage: str
    namespace: str
    overall: Status
    exit_code: ExitCode = Field(description="0 healthy, 1 warnings/unknown only, 2 failures found, 3 tool error.")
    wall_s: float
    deadline_s: float
    components: list[ComponentHealth]
    root_causes: list[RootCause]
    other_findings: list[Finding] = Field(description="Problems no rule explains.")
    findings: list[Finding] = Field(description="Latest finding per key, all statuses.")
    agents: list[AgentTiming]
    follow_ups: list[str]
    next_steps: list[str]


def exit_code_for(overall: Status) -> ExitCode:
    codes: dict[Status, ExitCode] = {
        Status.OK: EXIT_HEALTHY,
        Status.UNKNOWN: EXIT_DEGRADED,
        Status.WARN: EXIT_DEGRADED,
        Status.FAIL: EXIT_FAILING,
    }
    return codes[overall]


def _components(analysis: Analysis, planned: list[str]) -> list[ComponentHealth]:
    by_comp: dict[str, list[Finding]] = {name: [] for name in planned}
    for f in analysis.findings:
        by_comp.setdefault(f.component, []).append(f)
    folded: dict[str, set[str]] = {}
    for rc in analysis.root_causes:
        for comp in {rc.component, *rc.affected_components}:
            folded.setdefault(comp, set()).add(rc.rule)
    out = []
    for comp, items in sorted(by_comp.items()):
        if not items:
            out.append(
                ComponentHealth(
                    component=comp,
                    status=Status.OK,
                    checks=0,
                    problems=0,
                    observed=False,
                    summary="no endpoint observable from this vantage",
                )
            )
            continue
        problems = [f for f in items if analysis.weight(f) is not Status.OK]  # a settled one is no problem
        worst = max(problems, key=lambda f: (analysis.weight(f).rank, f.severity), default=None)
        out.append(
            ComponentHealth(
                component=comp,
                status=worst_status(analysis.weight(f) for f in items),
                checks=len(items),
                problems=len(problems),
                explained_by=sorted(folded.get(comp, ())),
                summary=worst.summary if worst else f"{len(items)} checks ok",
            )
        )
    return out


def _with_steps(rc: RootCause, namespace: str) -> RootCause:
    """The root cause with its fix steps filled in from its cause finding and the target namespace."""
    manual = tuple(fill(step, rc.cause, namespace) for step in rc.remediation.manual)
    return rc.model_copy(update={"remediation": rc.remediation.model_copy(update={"manual": manual})})


def _next_steps(analysis: Analysis, causes: list[RootCause]) -> list[str]:
    steps: list[str] = []
    for rc in causes:
        if rc.remediation.playbook:
            steps.append(f"Fix '{rc.title}': playbook {rc.remediation.playbook}.")
        elif rc.remediation.manual:
            steps.append(f"Fix '{rc.title}': {rc.remediation.manual[0]}")
    if analysis.unexplained:
        steps.append(f"Review {len(analysis.unexplained)} finding(s) no rule explains (see Other findings).")
    if analysis.root_causes or analysis.unexplained:
        steps.append("Re-run `floe-agents investigate` after each fix to confirm it and reveal what it masked.")
    return steps


def build_report(
    analysis: Analysis,
    run: RunRecord,
    *,
    vantage: str,
    namespace: str,
    wall_s: float,
    deadline_s: float,
    planned: list[str] | None = None,
) -> Report:
    """The report of one run: its diagnosis, with each agent's timings (ms precision) and the follow-ups launched.

    ``planned`` lists the components the health table shows even when nothing was observed (default: those
    whose agent ran).
    """
    causes = [_with_steps(rc, namespace) for rc in analysis.root_causes]
    agents = [
        AgentTiming(
            component=name,
            duration_s=round(timing.duration_s, 3),
            probes={k: round(v, 3) for k, v in timing.probes.items()},
            deadline_hit=timing.deadline_hit,
        )
        for name, timing in run.agents.items()
    ]
    return Report(
        generated_at=datetime.now(UTC),
        vantage=vantage,
        namespace=namespace,
        overall=analysis.overall,
        exit_code=exit_code_for(analysis.overall),
        wall_s=round(wall_s, 3),
        deadline_s=deadline_s,
        components=_components(analysis, planned if planned is not None else [a.component for a in agents]),
        root_causes=causes,
        other_findings=list(analysis.unexplained),
        findings=list(analysis.findings),
        agents=agents,
        follow_ups=[str(f) for f in run.follow_ups],
        next_steps=_next_steps(analysis, causes),
    )


def scrub(value: Any, redactor: Redactor) -> Any:
    """``value`` (a JSON document) with every string scrubbed by ``redactor``."""
    if isinstance(value, str):
        return redactor(value)
    if isinstance(value, list):
        return [scrub(v, redactor) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, redactor) for k, v in value.items()}
    return value


def render_json(report: Report, redactor: Redactor) -> str:
    """The report as JSON, every string scrubbed of known secret values."""
    data = scrub(report.model_dump(mode="json"), redactor)
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def report_json_schema() -> dict[str, Any]:
    return Report.model_json_schema(mode="serialization")
