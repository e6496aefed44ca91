"""Settled problems: a finding a settled rule names counts as ok while its component passes its own checks (an
init Job deleted after it ran, or one heal made moot), and stays a problem, explained like any other, while that
component has another problem or no check of it passed. The graph of test_analysis_rules: ui -> web -> mid -> base.
"""

from __future__ import annotations

from floe_agents.analysis import analyze
from floe_agents.events import RunRecord
from floe_agents.findings import Finding, Status
from floe_agents.report import build_report
from floe_agents.rules import Match, RootCauseRule, RuleSet, SettledRule, builtin_rules
from tests.engine.test_analysis_rules import GRAPH, mk

JOB_GONE = SettledRule(id="job-gone", finding=Match(codes={"x.job_absent"}, statuses={Status.WARN, Status.UNKNOWN}))
ANY_WARN = RootCauseRule(id="any-warn", title="{summary}", cause=Match(statuses={Status.WARN}), fallback=True)


def verdict(findings: list[Finding], *rules: RootCauseRule) -> tuple[Status, list[str], list[str]]:
    analysis = analyze(findings, RuleSet(rules=rules, settled=(JOB_GONE,)), GRAPH)
    return (
        analysis.overall,
        [str(rc.cause.code) for rc in analysis.root_causes],
        [str(f.code) for f in analysis.unexplained],
    )


def test_a_settled_problem_counts_as_ok_while_its_component_passes_its_checks() -> None:
    gone, fine = mk("base", "x.job_absent", Status.WARN), mk("base", "x.answers", Status.OK)
    analysis = analyze([gone, fine, mk("ui", "x.ui", Status.OK)], RuleSet(settled=(JOB_GONE,)), GRAPH)
    assert (analysis.overall, analysis.root_causes, analysis.unexplained) == (Status.OK, (), ())
    assert analysis.weight(gone) is Status.OK and gone in analysis.findings  # still listed, weighing ok
    unknown = mk("base", "x.job_absent", Status.UNKNOWN)
    assert verdict([unknown, fine]) == (Status.OK, [], [])


def test_it_stays_a_problem_while_its_component_has_another_one() -> None:
    gone, broken = mk("base", "x.job_absent", Status.WARN), mk("base", "x.tables_missing")
    ok = mk("base", "x.answers", Status.OK)
    assert verdict([gone, broken, ok]) == (Status.FAIL, [], ["x.tables_missing", "x.job_absent"])
    other_warn = mk("base", "x.restarts", Status.WARN)
    assert verdict([gone, other_warn, ok], ANY_WARN)[0] is Status.WARN
    # a problem elsewhere does not keep it: only its own component's checks decide
    assert verdict([gone, ok, mk("ui", "x.ui")]) == (Status.FAIL, [], ["x.ui"])


def test_it_stays_a_problem_when_no_check_of_its_component_passed() -> None:
    gone = mk("base", "x.job_absent", Status.WARN)
    assert verdict([gone]) == (Status.WARN, [], ["x.job_absent"])
    assert verdict([gone, mk("mid", "x.mid_ok", Status.OK)]) == (Status.WARN, [], ["x.job_absent"])


def test_only_the_named_codes_and_statuses_are_settled() -> None:
    ok = mk("base", "x.answers", Status.OK)
    assert verdict([mk("base", "x.other_absent", Status.WARN), ok])[0] is Status.WARN
    assert verdict([mk("base", "x.job_absent"), ok])[0] is Status.FAIL  # a failure is never settled
    other = SettledRule(id="other", finding=Match(codes={"x.unrelated"}, statuses={Status.WARN}))
    two = RuleSet(settled=(other, JOB_GONE))  # any one rule settles a finding
    assert analyze([mk("base", "x.job_absent", Status.WARN), ok], two, GRAPH).overall is Status.OK


def test_the_component_table_shows_a_settled_component_as_healthy() -> None:
    gone, fine = mk("base", "x.job_absent", Status.WARN), mk("base", "x.answers", Status.OK)
    analysis = analyze([gone, fine], RuleSet(settled=(JOB_GONE,)), GRAPH)
    report = build_report(
        analysis, RunRecord(), vantage="local", namespace="ns", wall_s=0, deadline_s=5, planned=["base"]
    )
    (base,) = [c for c in report.components if c.component == "base"]
    assert (base.status, base.problems, base.summary) == (Status.OK, 0, "2 checks ok")
    assert report.exit_code == 0


def test_the_built_in_rules_settle_an_absent_init_job() -> None:
    rules = builtin_rules()
    gone = Finding(component="iceberg", check="kubernetes", status=Status.WARN, code="k8s.hook_job_absent",
                   summary="no seed-data Job", subject="job/*seed-data")  # fmt: skip
    fine = Finding(component="iceberg", check="iceberg", status=Status.OK, code="iceberg.tables_ok", summary="ok")
    assert [s.id for s in rules.settled] == ["init-job-work-done"]
    assert analyze([gone, fine], rules, GRAPH).overall is Status.OK
