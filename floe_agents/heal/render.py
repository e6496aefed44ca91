"""The heal report as Markdown (for people at 3 a.m.) and JSON (for CI), scrubbed of every known secret.

Why the plan is shown action by action, with bodies: a person confirming a heal (or reading a dry run in CI) must
see exactly what will be sent — the object, the request, the SQL — not a paraphrase; bodies are masked at birth by
the remediations and scrubbed again here with the run's redactor.
"""

from __future__ import annotations

import json

from floe_agents.heal.model import FixPlan, HealReport
from floe_agents.redact import Redactor
from floe_agents.report.model import scrub

__all__ = ["render_heal_json", "render_heal_markdown", "render_plan"]

_HEADLINE = {
    "healthy": "nothing to heal: the platform is healthy",
    "planned": "plan only (dry run): nothing was changed",
    "healed": "healed: every fix applied and verified; the platform is green",
    "manual-steps-remain": "manual steps remain: what could be fixed safely was",
    "step-failed": "a step failed: heal stopped there",
    "not-confirmed": "not confirmed: nothing was changed",
    "not-permitted": "not permitted: the API refuses what heal needs; nothing of it was changed",
}


def render_heal_json(report: HealReport, redactor: Redactor) -> str:
    return json.dumps(scrub(report.model_dump(mode="json"), redactor), indent=2) + "\n"


def _fix_lines(index: int, fix: FixPlan) -> list[str]:
    how = {
        "automatic": f"automatic — playbook `{fix.playbook}` (phase {fix.phase}, risk {fix.risk})",
        "nothing-to-do": f"nothing to change — playbook `{fix.playbook}` finds it already fixed",
        "manual": "manual — needs a person",
    }[fix.kind]
    lines = [f"### {index}. {fix.title}", "", f"Cause `{fix.cause}` on `{fix.component}`: {how}.", ""]
    if fix.reason:
        lines += [f"Why: {fix.reason}", ""]
    for n, planned in enumerate(fix.actions, 1):
        action = planned.action
        lines.append(f"{n}. **{action.verb}** `{action.target}` — {action.summary} (`{planned.remediation}`)")
        if action.body is not None:
            body = json.dumps(action.body, indent=2, sort_keys=True)
            lines += ["", "   ```json", *(f"   {line}" for line in body.splitlines()), "   ```"]
        if action.undo:
            lines.append(f"   Undo: {action.undo}")
    if fix.actions and fix.verify:
        lines += ["", f"Verified by re-running: {', '.join(fix.verify)} (and the whole diagnosis)."]
    if fix.manual:
        lines += ["", "Manual steps:", *(f"- {step}" for step in fix.manual)]
    return [*lines, ""]


def render_plan(plans: list[FixPlan] | tuple[FixPlan, ...]) -> str:
    """The plan alone (what a person confirms)."""
    if not plans:
        return "Nothing to change.\n"
    lines: list[str] = []
    for i, fix in enumerate(plans, 1):
        lines += _fix_lines(i, fix)
    return "\n".join(lines)


def render_heal_markdown(report: HealReport, redactor: Redactor) -> str:
    lines = [
        f"# floe-agents heal: {_HEADLINE[report.outcome]}",
        "",
        f"Mode **{report.mode}** · namespace `{report.namespace}` · {report.wall_s:.1f}s · exit code "
        f"{report.exit_code} · {report.generated_at.isoformat(timespec='seconds')}",
        "",
        f"Root causes before: {', '.join(report.causes_before) or 'none'}.",
    ]
    if report.mode == "apply":
        lines.append(f"Root causes after: {', '.join(report.causes_after) or 'none'}.")
    if report.not_permitted:
        lines += ["", "## Not permitted", ""]
        lines += [f"- {'`' + r.playbook + '` ' if r.playbook else ''}{r.message}" for r in report.not_permitted]
        lines += ["", "Grant these to heal's ServiceAccount (deploy/overlays/heal) or leave the steps to a person."]
    lines += ["", "## Plan", "", render_plan(report.plan)]
    if report.applied:
        lines += ["## Changes made", ""]
        for fix in report.applied:
            mark = "verified" if fix.verified else f"FAILED: {fix.error}"
            lines.append(f"### `{fix.playbook}` for `{fix.cause}` — {mark} ({fix.seconds:.1f}s)")
            lines.append("")
            for change in fix.changes:
                lines.append(f"- {change.action.verb} `{change.action.target}`: {change.action.summary}")
                if change.before is not None:
                    lines.append(f"  - before: `{json.dumps(change.before, sort_keys=True)[:300]}`")
                if change.action.undo:
                    lines.append(f"  - undo: {change.action.undo}")
            lines.append("")
    lines += ["## Health", "", "| Component | Before | After |", "|---|---|---|"]
    for component, before in sorted(report.before.items()):
        after = report.after.get(component)
        lines.append(f"| {component} | {before.value} | {after.value if after else '—'} |")
    if report.findings:
        lines += ["", "## floe-agents itself", ""]
        lines += [f"- **{f.status.value}** `{f.code}`: {f.summary}" for f in report.findings]
    return redactor("\n".join(lines) + "\n")
