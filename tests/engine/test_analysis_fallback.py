"""No dead ends: a failure no rule explains becomes a root cause of its own (a fallback rule), with the fix its
code declares; the most fundamental one takes what is still unexplained on it and downstream; warnings no rule
explains stay other findings; a finding a rule explains is never a fallback cause. The graph of
test_analysis_rules: ui -> web -> mid -> base; lone stands apart.
"""

from __future__ import annotations

from floe_agents.analysis import analyze
from floe_agents.findings import Finding, Severity, Status
from floe_agents.registry import Registry, probe
from floe_agents.rules import Match, Remediation, RootCauseRule, RuleSet, builtin_rules
from floe_agents.topology import floe_topology
from tests.engine.test_analysis_rules import GRAPH, mk, rule

FALLBACK = RootCauseRule(
    id="fallback",
    title="{component}: {summary}",
    cause=Match(statuses={Status.FAIL}),
    symptoms=Match(statuses={Status.FAIL, Status.WARN, Status.UNKNOWN}),
    fallback=True,
    remediation=Remediation(manual=("look at {component}",)),
)


Cause = tuple[str, str, str, list[str]]


def causes(findings: list[Finding], *rules: RootCauseRule) -> list[Cause]:
    analysis = analyze(findings, RuleSet(rules=(*rules, FALLBACK)), GRAPH)
    return [(rc.rule, rc.component, str(rc.cause.code), [str(s.finding.code) for s in rc.symptoms])
            for rc in analysis.root_causes]  # fmt: skip


def test_a_failure_no_rule_explains_is_a_root_cause_with_the_fix_its_code_declares() -> None:
    lone = mk("lone", "x.odd", severity=Severity.HIGH)
    analysis = analyze([lone], RuleSet(rules=(FALLBACK,), fixes={"x.odd": "do the odd fix"}), GRAPH)
    (rc,) = analysis.root_causes
    assert (rc.rule, rc.component, rc.cause, rc.title) == ("fallback", "lone", lone, "lone: lone x.odd")
    assert rc.remediation.manual == ("do the odd fix", "look at {component}")
    assert rc.severity is Severity.HIGH and analysis.unexplained == ()
    bare = analyze([lone], RuleSet(rules=(FALLBACK,), fixes={"x.other": "not this"}), GRAPH)
    assert bare.root_causes[0].remediation.manual == ("look at {component}",)  # no declared fix: the rule's own


def test_the_most_fundamental_failure_takes_the_unexplained_problems_on_it_and_downstream() -> None:
    findings = [
        mk("ui", "x.ui"),
        mk("mid", "x.mid"),
        mk("mid", "x.mid_warn", Status.WARN),
        mk("web", "x.web_unknown", Status.UNKNOWN),
        mk("base", "x.base_warn", Status.WARN),  # upstream of mid: not its symptom, and a warning is no cause
        mk("lone", "x.lone"),
    ]
    got = causes(findings)
    assert got == [
        ("fallback", "mid", "x.mid", ["x.ui", "x.mid_warn", "x.web_unknown"]),
        ("fallback", "lone", "x.lone", []),
    ]
    analysis = analyze(findings, RuleSet(rules=(FALLBACK,)), GRAPH)
    assert [f.code for f in analysis.unexplained] == ["x.base_warn"]
    (ui,) = [s for s in analysis.root_causes[0].symptoms if s.finding.code == "x.ui"]
    assert [link.component for link in ui.chain] == ["ui", "web", "mid"]


def test_what_a_rule_explains_is_never_a_fallback_cause_and_rules_go_first() -> None:
    down = rule("down", "x.mid_down", symptoms=Match(codes={"x.ui"}))
    findings = [mk("mid", "x.mid_down"), mk("ui", "x.ui"), mk("web", "x.web")]
    # web's failure is downstream of mid, but the rule does not name it: the fallback takes it, the rule keeps x.ui
    assert causes(findings, down) == [("down", "mid", "x.mid_down", ["x.ui"]), ("fallback", "web", "x.web", [])]
    # a fallback rule never competes with the rules: alone it would have claimed x.ui under mid
    assert causes([mk("mid", "x.mid_down"), mk("ui", "x.ui")]) == [("fallback", "mid", "x.mid_down", ["x.ui"])]
    assert causes([mk("mid", "x.mid_down"), mk("ui", "x.ui")], down)[0][0] == "down"


def test_a_failure_folded_under_a_rule_cause_is_not_raised_again() -> None:
    deep = rule("deep", "x.base_down", priority=1, symptoms=Match(codes={"x.mid_down"}))
    shallow = rule("shallow", "x.mid_down")
    findings = [mk("base", "x.base_down"), mk("mid", "x.mid_down"), mk("web", "x.web")]
    # mid's cause is folded under base; its own symptom x.web joins base second-hand: nothing is left for a fallback
    assert causes(findings, deep, shallow) == [("deep", "base", "x.base_down", ["x.mid_down", "x.web"])]


def test_ruleset_sums_keep_fixes_and_the_registry_supplies_them() -> None:
    one, two = RuleSet(fixes={"a": "1"}), RuleSet(rules=(FALLBACK,), fixes={"b": "2"})
    assert (one + two).fixes == {"a": "1", "b": "2"} and (one + two).rules == (FALLBACK,)

    @probe("odd", codes={"x.odd": "fail: odd"}, fixes={"x.odd": "restart the odd thing"})
    async def odd(ctx: object) -> list[Finding]:
        return []

    assert odd.fixes == {"x.odd": "restart the odd thing"}
    assert Registry.of([odd]).declarations().fixes == {"x.odd": "restart the odd thing"}
    assert RuleSet(fixes={"x.odd": "mine"}).with_fixes({"x.odd": "declared", "y": "1"}).fixes == {
        "x.odd": "mine",
        "y": "1",
    }


def test_the_builtin_rules_end_every_failure_somewhere() -> None:
    fallbacks = {r.id: r for r in builtin_rules().rules if r.fallback}
    assert list(fallbacks) == ["unexplained-failure", "unexplained-warning"]
    fb, warned = fallbacks["unexplained-failure"], fallbacks["unexplained-warning"]
    assert fb.cause.statuses == {Status.FAIL} and not fb.cause.codes and fb.scope == "component+downstream"
    assert fb.symptoms.statuses == {Status.FAIL, Status.WARN, Status.UNKNOWN}
    # warnings after every failure, and never taking a failure; a hook Job deleted after it ran is no cause
    assert warned.priority < fb.priority and warned.cause.statuses == {Status.WARN}
    assert Status.FAIL not in warned.symptoms.statuses and warned.cause.not_codes == {"k8s.hook_job_absent"}


def test_a_warning_nothing_explains_is_a_cause_after_the_failures() -> None:
    from floe_agents.topology import floe_topology  # noqa: PLC0415

    restarts = Finding(component="marquez", check="k", status=Status.WARN, code="k8s.pod_restarting", summary="r")
    broken = Finding(component="postgres", check="p", status=Status.FAIL, code="postgres.not_ready", summary="b")
    absent = Finding(component="iceberg", check="k", status=Status.WARN, code="k8s.hook_job_absent", summary="a")
    analysis = analyze([restarts, absent], builtin_rules(), floe_topology())
    assert [(rc.rule, rc.component) for rc in analysis.root_causes] == [("unexplained-warning", "marquez")]
    assert analysis.unexplained == (absent,)
    # a failure below it explains it: marquez needs postgres
    both = analyze([restarts, broken], builtin_rules(), floe_topology())
    assert [(rc.rule, rc.component, [s.finding.code for s in rc.symptoms]) for rc in both.root_causes] == [
        ("unexplained-failure", "postgres", ["k8s.pod_restarting"])
    ]


def test_a_component_that_never_answers_is_named_with_the_time_it_had() -> None:
    hung = Finding(component="polaris", check="http_health", status=Status.FAIL, code="http.timeout",
                   summary="no answer", subject="http://p/q/health", evidence={"timeout_s": 3.0})  # fmt: skip
    cut = Finding(component="jaeger", check="jaeger", status=Status.UNKNOWN, code="probe.deadline_exceeded",
                  summary="cut", evidence={"deadline_s": 2.5, "timeout_s": 2.5})  # fmt: skip
    analysis = analyze([hung, cut], builtin_rules(), floe_topology())
    assert [rc.title for rc in analysis.root_causes] == [
        "polaris did not answer within 3s (http://p/q/health)",
        "jaeger did not answer within 2.5s (jaeger)",
    ]


def test_a_rules_fix_is_its_own_even_when_the_code_declares_one() -> None:
    """The code's declared fix is for the failure no rule explains; a rule that explains it says how to fix it."""
    own = rule("own", "x.odd", remediation=Remediation(manual=("the rule's step",)))
    analysis = analyze([mk("lone", "x.odd")], RuleSet(rules=(own, FALLBACK), fixes={"x.odd": "declared"}), GRAPH)
    (rc,) = analysis.root_causes
    assert (rc.rule, rc.remediation.manual) == ("own", ("the rule's step",))


def test_a_failure_on_a_component_outside_the_graph_is_a_cause_beside_the_others() -> None:
    """A targets file may name components the topology does not know: their failures rank as leaves (no
    dependents), never break the ordering, and take nothing beyond their own component."""
    stray, leaf = mk("stray", "x.stray"), mk("lone", "x.lone")
    analysis = analyze([stray, leaf, mk("stray", "x.stray_warn", Status.WARN)], RuleSet(rules=(FALLBACK,)), GRAPH)
    got = sorted((rc.component, [s.finding.code for s in rc.symptoms]) for rc in analysis.root_causes)
    assert got == [("lone", []), ("stray", ["x.stray_warn"])]


def test_a_rule_with_code_fix_starts_with_the_fix_its_cause_code_declares() -> None:
    """A rule over several codes (a URL with no scheme, a port, a path) whose precise fixes differ by code."""
    url = RootCauseRule(id="url", title="{summary}", cause=Match(codes=("x.url_*",)), code_fix=True,
                        remediation=Remediation(manual=("then restart",)))  # fmt: skip
    plain = url.model_copy(update={"id": "plain", "code_fix": False, "cause": Match(codes=("x.other",))})
    fixes = {"x.url_port": "use port 80", "x.other": "never shown: its rule has no code_fix"}
    analysis = analyze(
        [mk("lone", "x.url_port"), mk("mid", "x.other")], RuleSet(rules=(url, plain), fixes=fixes), GRAPH
    )
    got = {rc.rule: rc.remediation.manual for rc in analysis.root_causes}
    assert got == {"url": ("use port 80", "then restart"), "plain": ("then restart",)}


def test_missing_output_comes_after_the_failure_of_the_component_meant_to_produce_it() -> None:
    """base holds what web should have sent (produced_by: web). web fails on its own: that is why base has nothing,
    so web's failure is the cause and base's empty store its symptom, though web depends on base."""
    empty = mk("base", "x.nothing_arrived", evidence={"produced_by": ["web"]})
    assert causes([empty, mk("web", "x.web_down")]) == [("fallback", "web", "x.web_down", ["x.nothing_arrived"])]
    # Without a producer named, the component more things depend on goes first, as before.
    plain = mk("base", "x.base_down")
    assert causes([plain, mk("web", "x.web_down")]) == [("fallback", "base", "x.base_down", ["x.web_down"])]
