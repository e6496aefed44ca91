"""Markdown rendering of a :class:`Report`, in the seed validation report's spirit but honest.

Root causes come first and carry their symptoms folded beneath them; the health table marks components whose
problems are explained elsewhere, so nobody chases twenty symptoms. The whole text is scrubbed by the run's
redactor before it is returned.
"""

from __future__ import annotations

from floe_agents.analysis import RootCause
from floe_agents.findings import Finding, Status
from floe_agents.redact import Redactor
from floe_agents.report.model import Report

__all__ = ["render_markdown"]

_ICON = {Status.OK: "✅ ok", Status.WARN: "⚠️ warn", Status.FAIL: "❌ fail", Status.UNKNOWN: "❔ unknown"}
_HEADLINE = {
    Status.OK: "🟢 HEALTHY — every check passed",
    Status.WARN: "🟡 DEGRADED — warnings, no failures",
    Status.UNKNOWN: "🟡 DEGRADED — some checks could not decide",
    Status.FAIL: "🔴 FAILING — failures found",
}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _finding_line(f: Finding) -> str:
    where = f" — `{f.subject}`" if f.subject else ""
    return f"`{f.code}` {_ICON[f.status]} **{f.component}/{f.check}**{where} ({f.vantage}): {f.summary}"


EVIDENCE_VALUE_CHARS = 200  # a value quoted inline; the JSON report keeps it whole
EVIDENCE_LINE_CHARS = 1200


def _evidence(f: Finding, indent: str = "  ") -> list[str]:
    """The finding's evidence on one bounded line: every finding the report lists shows why it says what it says
    (a symptom or an unexplained problem with only a summary sent the reader to the JSON)."""
    if not f.evidence:
        return []
    parts = []
    for key, value in sorted(f.evidence.items()):
        text = _cell(value)
        cut = text if len(text) <= EVIDENCE_VALUE_CHARS else text[: EVIDENCE_VALUE_CHARS - 1] + "…"
        parts.append(f"{key}=`{cut.replace('`', chr(39))}`")
    line = ", ".join(parts)
    if len(line) > EVIDENCE_LINE_CHARS:
        line = line[: EVIDENCE_LINE_CHARS - 1] + "… (whole in the JSON report)"
    return [f"{indent}evidence: {line}"]


def _listed(f: Finding) -> list[str]:
    return [f"- {_finding_line(f)}", *_evidence(f)]


def _root_cause(i: int, rc: RootCause) -> list[str]:
    lines = [
        f"### {i}. {rc.title}",
        "",
        f"- **Cause:** {_finding_line(rc.cause)}",
        f"- **Rule:** `{rc.rule}` · severity {rc.severity.name.lower()}",
    ]
    if rc.explanation:
        lines.append(f"- **Why it matters:** {rc.explanation}")
    if rc.affected_components:
        lines.append(f"- **Affected downstream:** {', '.join(rc.affected_components)}")
    lines += [line.replace("  evidence:", "- **Evidence:**", 1) for line in _evidence(rc.cause)]
    for f in rc.corroboration:
        lines += [f"- **Corroborated by:** {_finding_line(f)}", *_evidence(f)]
    if rc.symptoms:
        lines += ["", f"**Symptoms folded under this cause ({len(rc.symptoms)}):**", ""]
        for s in rc.symptoms:
            chain = " → ".join(f"{link.component}" + (f" (`{link.code}`)" if link.code else "") for link in s.chain)
            lines += [f"- {_finding_line(s.finding)}  ", f"  chain: {chain}  ", *_evidence(s.finding)]
    lines += ["", "**Fix:**"]
    if rc.remediation.playbook:
        lines.append(f"- Playbook `{rc.remediation.playbook}` (playbooks/{rc.remediation.playbook}.yaml).")
    lines += [f"- {step}" for step in rc.remediation.manual]
    if not rc.remediation.playbook and not rc.remediation.manual:
        lines.append("- No playbook yet: investigate the cause finding above.")
    return [*lines, ""]


def render_markdown(report: Report, redactor: Redactor) -> str:
    problems = sum(c.problems for c in report.components)
    lines = [
        "# Floe platform investigation",
        "",
        f"**Generated:** {report.generated_at:%Y-%m-%d %H:%M:%S} UTC · **vantage:** {report.vantage} · "
        f"**namespace:** {report.namespace} · **floe-agents** {report.tool_version} · "
        f"**ran in** {report.wall_s:.2f}s (deadline {report.deadline_s:g}s)",
        "",
        "## Executive summary",
        "",
        f"**Status: {_HEADLINE[report.overall]}** (exit code {report.exit_code})",
        "",
        f"- {len(report.components)} components, {len(report.findings)} checks, {problems} problems",
        f"- {len(report.root_causes)} root cause(s); {len(report.other_findings)} unexplained problem(s)",
    ]
    for i, rc in enumerate(report.root_causes[:5], 1):
        lines.append(
            f"  {i}. **{rc.title}** — {len(rc.symptoms)} symptom(s) folded"
            + (f", affects {', '.join(rc.affected_components)}" if rc.affected_components else "")
        )
    lines += [
        "",
        "## Component health",
        "",
        "| Component | Status | Checks | Problems | Explained by | Worst finding |",
        "|---|---|---|---|---|---|",
    ]
    for c in report.components:
        icon = _ICON[c.status] if c.observed else "· not observed"
        lines.append(
            f"| {c.component} | {icon} | {c.checks} | {c.problems} | "
            f"{_cell(', '.join(c.explained_by) or '—')} | {_cell(c.summary)} |"
        )
    lines += ["", "## Root causes", ""]
    if not report.root_causes:
        lines += ["No root cause found.", ""]
    for i, rc in enumerate(report.root_causes, 1):
        lines += _root_cause(i, rc)
    lines += ["## Other findings", ""]
    if report.other_findings:
        lines += [line for f in report.other_findings for line in _listed(f)]
    else:
        lines.append("None: every problem is explained by a root cause above." if problems else "None.")
    passed = [f for f in report.findings if not f.is_problem]
    if passed:
        lines += ["", f"<details><summary>{len(passed)} passing checks</summary>", ""]
        lines += [line for f in passed for line in _listed(f)]
        lines += ["", "</details>"]
    lines += ["", "## Timings per agent", "", "| Agent | Duration | Probes | Deadline hit |", "|---|---|---|---|"]
    for a in sorted(report.agents, key=lambda a: -a.duration_s):
        probes = ", ".join(f"{k} {v:.2f}s" for k, v in sorted(a.probes.items()))
        lines.append(
            f"| {a.component} | {a.duration_s:.2f}s | {_cell(probes or '—')} | {'yes' if a.deadline_hit else 'no'} |"
        )
    if report.follow_ups:
        lines += ["", "**Event-driven follow-ups:**", ""] + [f"- {_cell(f)}" for f in report.follow_ups]
    lines += ["", "## Next steps", ""]
    lines += [f"{i}. {s}" for i, s in enumerate(report.next_steps, 1)] or ["Nothing to do."]
    return redactor("\n".join(lines) + "\n")
