"""The Markdown shows evidence for every finding it lists (a root cause, its symptoms and corroboration, the
other findings, the passing checks), each on one bounded line: a listed finding with only a summary sent the
reader to the JSON, and a huge value quoted from a server must not flood the page."""

from __future__ import annotations

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.registry import Registry, probe
from floe_agents.report import render_markdown
from floe_agents.report.markdown import EVIDENCE_LINE_CHARS, EVIDENCE_VALUE_CHARS
from floe_agents.swarm import Plan, investigate

HUGE = "x" * 50_000
FACTS = {"facts.broken": "fail: b", "facts.sad": "fail: s", "facts.odd": "warn: o", "facts.fine": "ok: f",
         "facts.unsure": "unknown: u"}  # fmt: skip
COMPONENTS = ["postgres", "dagster-webserver", "jaeger", "s3"]  # jaeger and s3 need nothing: nobody's symptoms


@probe("facts", components=COMPONENTS, codes=FACTS, fixes={"facts.broken": "free disk space on {component}"})
async def facts(ctx: ProbeContext) -> list[Finding]:
    if ctx.component == "postgres":
        return [ctx.finding(Status.FAIL, "facts.broken", "postgres is broken", subject="db",
                            evidence={"why": "disk-full-quote", "huge": HUGE})]  # fmt: skip
    if ctx.component == "s3":  # undecided, and nothing to fold under: an other finding
        return [
            ctx.finding(Status.UNKNOWN, "facts.unsure", "s3 is unsure", subject="u", evidence={"why": "unknown-quote"})
        ]
    if ctx.component == "dagster-webserver":
        return [ctx.finding(Status.FAIL, "facts.sad", "webserver is sad", subject="web",
                            evidence={"because": "downstream-quote"})]  # fmt: skip
    return [
        ctx.finding(Status.WARN, "facts.odd", "jaeger is odd", subject="c", evidence={"hint": "warning-quote"}),
        ctx.finding(Status.OK, "facts.fine", "jaeger is fine", subject="ok", evidence={"seen": "passing-quote"}),
    ]


async def test_every_listed_finding_carries_its_evidence_on_one_bounded_line() -> None:
    targets = Targets.model_validate({"vantages": {"local": {}}, "components": {c: {} for c in COMPONENTS}})
    result = await investigate(Plan(targets=targets, registry=Registry.of([facts])))
    report = result.report
    rc, warned = report.root_causes  # no rule names postgres's failure: a cause of its own, the webserver under it
    assert (warned.rule, warned.component) == ("unexplained-warning", "jaeger")  # and jaeger's warning after it
    assert (rc.rule, rc.component, [s.finding.code for s in rc.symptoms]) == (
        "unexplained-failure",
        "postgres",
        ["facts.sad"],
    )
    assert rc.remediation.manual[0] == "free disk space on postgres"  # the fix its code declares, filled
    markdown = render_markdown(report, result.plan.redactor())
    lines = markdown.splitlines()
    for quote in ("disk-full-quote", "downstream-quote", "warning-quote", "unknown-quote", "passing-quote"):
        (line,) = [ln for ln in lines if quote in ln]
        assert "evidence:" in line.lower() and len(line) <= EVIDENCE_LINE_CHARS + 40, line[:200]
    assert HUGE not in markdown and "x" * EVIDENCE_VALUE_CHARS not in markdown
    assert "free disk space on postgres" in markdown
    assert "## Other findings" in markdown and "s3 is unsure" in markdown.split("## Other findings")[1]
