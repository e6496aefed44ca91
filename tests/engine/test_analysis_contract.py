"""Root-cause analysis, pinned where mutation testing found it loose: a scope from evidence keeps the cause's own
component, a component outside the graph is as fundamental as a leaf, an evidence chain starts at the symptom
itself and shows each hop's worst finding, missing output is explained through its producers, one finding causes
one root cause, symptoms are listed worst first, and only what a cap lowers is counted as lower."""

from __future__ import annotations

from typing import Any

from floe_agents.analysis import Analysis, ChainLink, analyze
from floe_agents.findings import PRODUCED_BY, Finding, Severity, Status
from floe_agents.rules import Match, RootCauseRule, RuleSet
from floe_agents.topology import ComponentSpec, Topology

# ui -> web -> mid -> base (ui needs web, web needs mid, mid needs base); lone stands apart.
GRAPH = Topology.of(
    [
        ComponentSpec("base"),
        ComponentSpec("mid", ("base",)),
        ComponentSpec("web", ("mid",)),
        ComponentSpec("ui", ("web",)),
        ComponentSpec("lone"),
    ]
)


def mk(component: str, code: str, status: Status = Status.FAIL, **kw: Any) -> Finding:
    kw.setdefault("subject", code)
    return Finding(component=component, check="c", status=status, code=code, summary=f"{component} {code}", **kw)


def rule(rule_id: str, cause: str, **kw: Any) -> RootCauseRule:
    return RootCauseRule(id=rule_id, title=rule_id, cause=Match(codes={cause}), **kw)


def run(findings: list[Finding], *rules: RootCauseRule) -> Analysis:
    return analyze(findings, RuleSet(rules=rules), GRAPH)


def causes(analysis: Analysis) -> list[tuple[str, str, list[str]]]:
    return [(rc.rule, rc.component, [s.finding.code for s in rc.symptoms]) for rc in analysis.root_causes]


def test_a_scope_from_evidence_keeps_the_cause_s_own_component() -> None:
    cause = mk("lone", "x.down", evidence={"affects": ["mid"]})
    findings = [cause, mk("lone", "x.local"), mk("mid", "x.mid"), mk("ui", "x.ui"), mk("base", "x.base")]
    only_roots = rule("r", "x.down", scope="component", scope_from_evidence="affects")
    assert causes(run(findings, only_roots)) == [("r", "lone", ["x.local", "x.mid"])]
    with_down = rule("r", "x.down", scope_from_evidence="affects")
    assert causes(run(findings, with_down)) == [("r", "lone", ["x.local", "x.mid", "x.ui"])]


def test_a_cause_outside_the_graph_ranks_as_a_component_nothing_depends_on() -> None:
    # Same priority, severity and status, and both as fundamental (nothing depends on either): the tie is broken
    # by key, highest first, so the cause on ``lone`` claims the shared symptom before the one outside the graph.
    sym = Match(codes={"x.sym"})
    outside = rule("outside", "x.a", scope="any", symptoms=sym, local_symptoms=sym)
    leaf = rule("leaf", "x.b", scope="any", symptoms=sym, local_symptoms=sym)
    findings = [mk("aaa-outside", "x.a"), mk("lone", "x.b"), mk("ui", "x.sym")]
    assert sorted(causes(run(findings, outside, leaf))) == [("leaf", "lone", ["x.sym"]), ("outside", "aaa-outside", [])]


def test_an_evidence_chain_starts_at_the_symptom_and_shows_each_hop_s_worst_finding() -> None:
    findings = [
        mk("base", "x.down"),
        mk("ui", "x.worse", severity=Severity.HIGH),
        mk("ui", "x.mild", Status.WARN),
        mk("mid", "x.mid_bad", severity=Severity.HIGH),
        mk("mid", "x.mid_mild", Status.WARN),
    ]
    (rc,) = run(findings, rule("r", "x.down")).root_causes
    (mild,) = [s for s in rc.symptoms if s.finding.code == "x.mild"]
    assert mild.chain == (
        ChainLink(component="ui", code="x.mild", status=Status.WARN, summary="ui x.mild"),
        ChainLink(component="web"),
        ChainLink(component="mid", code="x.mid_bad", status=Status.FAIL, summary="mid x.mid_bad"),
        ChainLink(component="base", code="x.down", status=Status.FAIL, summary="base x.down"),
    )


def test_among_equally_bad_findings_a_chain_hop_shows_the_first_posted() -> None:
    findings = [mk("base", "x.down"), mk("mid", "x.tie_first"), mk("mid", "x.tie_second"), mk("web", "x.web")]
    (rc,) = run(findings, rule("r", "x.down")).root_causes
    (web,) = [s for s in rc.symptoms if s.finding.code == "x.web"]
    assert [link.code for link in web.chain] == ["x.web", "x.tie_first", "x.down"]


def test_missing_output_is_explained_by_a_cause_on_the_component_that_should_produce_it() -> None:
    silent = mk("lone", "x.no_traces", evidence={PRODUCED_BY: ["mid"]})
    unrelated = mk("lone", "x.other")
    analysis = run([mk("mid", "x.down"), silent, unrelated], rule("r", "x.down"))
    assert causes(analysis) == [("r", "mid", ["x.no_traces"])]
    assert analysis.unexplained == (unrelated,)


def test_one_finding_is_the_cause_of_one_root_cause_whatever_rules_match_it() -> None:
    first = rule("first", "x.down", priority=1)
    second = rule("second", "x.down")
    analysis = run([mk("mid", "x.down"), mk("ui", "x.sym")], second, first)
    assert causes(analysis) == [("first", "mid", ["x.sym"])]


def test_symptoms_are_listed_worst_status_first() -> None:
    findings = [
        mk("base", "x.down"),
        mk("mid", "x.warn", Status.WARN),
        mk("web", "x.fail"),
        mk("ui", "x.unknown", Status.UNKNOWN),
    ]
    assert causes(run(findings, rule("r", "x.down"))) == [("r", "base", ["x.fail", "x.warn", "x.unknown"])]


def test_only_symptoms_worse_than_the_cap_are_counted_as_it() -> None:
    fail, warn, unknown = mk("mid", "x.fail"), mk("web", "x.warn", Status.WARN), mk("ui", "x.unknown", Status.UNKNOWN)
    capped = rule("r", "x.down", symptoms_count_as=Status.WARN)
    analysis = run([mk("base", "x.down"), fail, warn, unknown], capped)
    assert analysis.counted_as == {fail.key: Status.WARN}
    assert [analysis.weight(f) for f in (fail, warn, unknown)] == [Status.WARN, Status.WARN, Status.UNKNOWN]
