"""Root-cause analysis, rule by rule part: ``requires``, scopes, folding under a deeper cause, ranking by
dependency depth, linked symptoms, capped symptoms, what stays unexplained. A small graph of its own:

    ui -> web -> mid -> base        (ui needs web, web needs mid, mid needs base); lone stands apart
"""

from __future__ import annotations

from typing import Any

from floe_agents.analysis import analyze
from floe_agents.findings import Finding, Severity, Status
from floe_agents.rules import Link, Match, RootCauseRule, RuleSet
from floe_agents.topology import ComponentSpec, Topology

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
    return RootCauseRule(id=rule_id, title=f"{rule_id} on {{component}}", cause=Match(codes={cause}), **kw)


def causes(findings: list[Finding], *rules: RootCauseRule) -> list[tuple[str, str, list[str]]]:
    analysis = analyze(findings, RuleSet(rules=rules), GRAPH)
    return [(rc.rule, rc.component, [s.finding.code for s in rc.symptoms]) for rc in analysis.root_causes]


def test_a_rule_holds_only_when_what_it_requires_is_present() -> None:
    needs = rule("needs", "x.down", requires=(Match(codes={"x.also"}), Match(codes={"x.third"})))
    cause, also, third = mk("base", "x.down"), mk("lone", "x.also"), mk("lone", "x.third")
    assert causes([cause], needs) == []
    assert causes([cause, also], needs) == []  # every requirement, not the first
    assert causes([cause, third], needs) == []
    analysis = analyze([cause, also, third], RuleSet(rules=(needs,)), GRAPH)
    (rc,) = analysis.root_causes
    assert rc.component == "base" and rc.corroboration == (also, third)
    assert rc.title == "needs on base"


def test_scopes_component_downstream_and_both() -> None:
    findings = [mk("mid", "x.down"), mk("mid", "x.local"), mk("web", "x.web"), mk("base", "x.base"), mk("lone", "x.y")]
    assert causes(findings, rule("r", "x.down", scope="component")) == [("r", "mid", ["x.local"])]
    assert causes(findings, rule("r", "x.down", scope="downstream")) == [("r", "mid", ["x.web"])]
    assert causes(findings, rule("r", "x.down")) == [("r", "mid", ["x.local", "x.web"])]
    assert causes(findings, rule("r", "x.down", scope="any")) == [("r", "mid", ["x.base", "x.y", "x.local", "x.web"])]


def test_scope_from_evidence_adds_components_and_their_dependents() -> None:
    cause = mk("lone", "x.down", evidence={"affects": ["mid"]})
    findings = [cause, mk("mid", "x.mid"), mk("ui", "x.ui"), mk("base", "x.base")]
    assert causes(findings, rule("r", "x.down", scope_from_evidence="affects")) == [("r", "lone", ["x.mid", "x.ui"])]
    one = mk("lone", "x.down", evidence={"affects": "web"})  # a single name, not a list
    assert causes([one, mk("ui", "x.ui")], rule("r", "x.down", scope_from_evidence="affects")) == [
        ("r", "lone", ["x.ui"])
    ]
    assert causes([one, mk("ui", "x.ui")], rule("r", "x.down", scope="component", scope_from_evidence="affects")) == [
        ("r", "lone", [])
    ]


def test_a_cause_explained_by_a_deeper_cause_folds_its_symptoms_under_it() -> None:
    deep = rule("deep", "x.base_down", priority=1, symptoms=Match(codes={"x.mid_down"}))
    shallow = rule("shallow", "x.mid_down")
    other = rule("other", "x.web_down", symptoms=Match(codes={"none"}), local_symptoms=Match(codes={"none"}))
    findings = [mk("base", "x.base_down"), mk("mid", "x.mid_down"), mk("ui", "x.ui"), mk("web", "x.web_down")]
    analysis = analyze(findings, RuleSet(rules=(deep, shallow, other)), GRAPH)
    got = [(rc.rule, [s.finding.code for s in rc.symptoms]) for rc in analysis.root_causes]
    # shallow's cause is deep's symptom: its own symptom (ui) joins deep; web_down, a cause in its own right, stays.
    assert got == [("deep", ["x.mid_down", "x.ui"]), ("other", [])]
    assert analysis.unexplained == ()
    (deep_rc, _) = analysis.root_causes
    chain = [link.component for link in deep_rc.symptoms[1].chain]
    assert chain == ["ui", "web", "mid", "base"]
    assert [link.code for link in deep_rc.symptoms[1].chain] == ["x.ui", "x.web_down", "x.mid_down", "x.base_down"]


def test_the_deeper_cause_is_accepted_first_when_rules_tie() -> None:
    # Same priority, severity and status: the cause more components depend on claims the shared symptom, though
    # the other's key sorts higher.
    only_sym = Match(codes={"x.sym"})
    base_rule = rule("on_base", "x.base_down", symptoms=only_sym, local_symptoms=only_sym)
    web_rule = rule("on_web", "x.web_down", symptoms=only_sym, local_symptoms=only_sym)
    findings = [mk("web", "x.web_down"), mk("base", "x.base_down"), mk("ui", "x.sym")]
    assert causes(findings, web_rule, base_rule) == [("on_base", "base", ["x.sym"]), ("on_web", "web", [])]


def test_priority_then_depth_then_severity_decide_who_claims_first() -> None:
    only_sym = Match(codes={"x.sym"})
    base_rule = rule("on_base", "x.base_down", symptoms=only_sym)
    web_rule = rule("on_web", "x.web_down", symptoms=only_sym, priority=1)
    findings = [mk("web", "x.web_down"), mk("base", "x.base_down"), mk("ui", "x.sym")]
    by = {rc.rule: rc for rc in analyze(findings, RuleSet(rules=(base_rule, web_rule)), GRAPH).root_causes}
    assert [s.finding.code for s in by["on_web"].symptoms] == ["x.sym"] and by["on_base"].symptoms == ()
    sev = [mk("web", "x.web_down", severity=Severity.HIGH), mk("mid", "x.mid_down"), mk("ui", "x.sym")]
    mid_rule = rule("on_mid", "x.mid_down", symptoms=only_sym)
    web_plain = rule("on_web", "x.web_down", symptoms=only_sym)
    by = {rc.rule: rc for rc in analyze(sev, RuleSet(rules=(mid_rule, web_plain)), GRAPH).root_causes}
    assert [s.finding.code for s in by["on_mid"].symptoms] == ["x.sym"]  # depth before severity


def test_linked_symptoms_and_capped_verdicts() -> None:
    link = Link(codes=frozenset({"x.host"}), key="host", cause_key="host")
    r = rule("r", "x.down", scope="component", linked=(link,), symptoms_count_as=Status.WARN)
    cause = mk("base", "x.down", evidence={"host": "h1"})
    linked, unlinked = mk("lone", "x.host", evidence={"host": "h1"}), mk("ui", "x.host", evidence={"host": "h2"})
    analysis = analyze([cause, linked, unlinked], RuleSet(rules=(r,)), GRAPH)
    (rc,) = analysis.root_causes
    assert [s.finding for s in rc.symptoms] == [linked]
    assert analysis.unexplained == (unlinked,)
    assert analysis.counted_as == {linked.key: Status.WARN}
    assert analysis.weight(linked) is Status.WARN and analysis.weight(unlinked) is Status.FAIL
    assert analysis.overall is Status.FAIL


def test_capped_symptoms_weigh_less_in_the_overall_verdict() -> None:
    cause_rule = RootCauseRule(
        id="r",
        title="t",
        cause=Match(codes={"x.down"}, statuses={Status.WARN}),
        symptoms_count_as=Status.WARN,
    )
    cause = mk("base", "x.down", Status.WARN)
    symptom = mk("mid", "x.mid")
    analysis = analyze([cause, symptom, mk("lone", "x.ok", Status.OK)], RuleSet(rules=(cause_rule,)), GRAPH)
    assert analysis.overall is Status.WARN
    assert analysis.counted_as == {symptom.key: Status.WARN}
    (rc,) = analysis.root_causes
    assert rc.affected_components == ("mid",) and rc.severity is Severity.INFO


def test_findings_no_rule_explains_stay_ranked_as_other_findings() -> None:
    findings = [
        mk("lone", "x.a", Status.WARN, severity=Severity.HIGH),
        mk("lone", "x.b", Status.FAIL, severity=Severity.LOW),
        mk("mid", "x.c", Status.WARN, severity=Severity.CRITICAL),
        mk("ui", "x.ok", Status.OK),
    ]
    analysis = analyze(findings, RuleSet(), GRAPH)
    assert [f.code for f in analysis.unexplained] == ["x.b", "x.c", "x.a"]
    assert analysis.root_causes == () and analysis.overall is Status.FAIL
    assert [f.key for f in analysis.findings] == sorted(f.key for f in findings)


def test_root_causes_are_ranked_by_status_then_severity() -> None:
    quiet = RootCauseRule(id="quiet", title="q", cause=Match(codes={"x.q"}, statuses={Status.WARN}), scope="component")
    loud = RootCauseRule(id="loud", title="l", cause=Match(codes={"x.l"}), scope="component")
    crit = RootCauseRule(id="crit", title="c", cause=Match(codes={"x.c"}), scope="component")
    findings = [
        mk("lone", "x.q", Status.WARN, severity=Severity.CRITICAL),
        mk("base", "x.l", severity=Severity.LOW),
        mk("ui", "x.c", severity=Severity.CRITICAL),
    ]
    analysis = analyze(findings, RuleSet(rules=(quiet, loud, crit)), GRAPH)
    assert [rc.rule for rc in analysis.root_causes] == ["crit", "loud", "quiet"]
    assert [rc.score for rc in analysis.root_causes] == [(3, 4, 0, 0, 0), (3, 1, 0, 0, 0), (2, 4, 0, 0, 0)]
