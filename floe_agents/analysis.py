"""Root-cause analysis: fold symptoms under causes over the dependency graph.

The seed report listed twenty green or amber lines and hid five blockers among them. This module does the
opposite: every rule proposes causes; candidates are accepted most-fundamental first (rule priority, then how many
components depend on the cause's component, then severity); each accepted cause claims the problem findings it
explains on its own component and downstream of it (a finding about missing output also counts as downstream of
the components that should have produced it), with the dependency path from symptom to cause as the
evidence chain. A candidate that is itself explained by an accepted cause is folded under it, not reported twice.
A failure no rule explains becomes a cause of its own through the fallback rules (no dead ends: its fix is the
one its code declares); what is still unexplained after that (warnings nobody fails for) is kept as an "other
finding", never dropped. A problem a settled rule names counts as ok while its component passes its own checks
(an init Job deleted after it ran).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import Field

from floe_agents._frozen import Frozen as _Frozen
from floe_agents.findings import Finding, Severity, Status, worst_status
from floe_agents.rules import Remediation, RootCauseRule, RuleSet
from floe_agents.topology import Topology

__all__ = ["Analysis", "ChainLink", "RootCause", "Symptom", "analyze"]


class ChainLink(_Frozen):
    """One hop of an evidence chain: a component on the dependency path and its worst finding (if any)."""

    component: str
    code: str | None = None
    status: Status | None = None
    summary: str | None = None


class Symptom(_Frozen):
    finding: Finding
    chain: tuple[ChainLink, ...] = Field(description="From the symptom's component down to the cause's.")


class RootCause(_Frozen):
    rule: str
    title: str
    explanation: str
    component: str
    cause: Finding
    corroboration: tuple[Finding, ...] = ()
    symptoms: tuple[Symptom, ...] = ()
    affected_components: tuple[str, ...] = ()
    remediation: Remediation = Field(default_factory=Remediation)
    severity: Severity
    score: tuple[int, ...] = Field(description="Ranking key, higher first.")


class Analysis(_Frozen):
    overall: Status
    root_causes: tuple[RootCause, ...]
    unexplained: tuple[Finding, ...]
    findings: tuple[Finding, ...]
    counted_as: dict[str, Status] = Field(
        default_factory=dict,
        description="Finding key -> the lower status it weighs in verdicts (a rule's symptoms_count_as).",
    )

    def weight(self, finding: Finding) -> Status:
        """The status ``finding`` counts as in the overall verdict and its component's health."""
        return self.counted_as.get(finding.key, finding.status)


@dataclass
class _Candidate:
    rule: RootCauseRule
    cause: Finding
    corroboration: tuple[Finding, ...]
    scope: frozenset[str]
    rank: tuple[int, ...]


def _scope(rule: RootCauseRule, cause: Finding, topology: Topology) -> frozenset[str]:
    if rule.scope == "any":
        return frozenset(topology.names) | {cause.component}
    roots = {cause.component}
    if rule.scope_from_evidence:
        listed = cause.evidence.get(rule.scope_from_evidence) or []
        roots |= {str(c) for c in (listed if isinstance(listed, list | tuple) else [listed])}
    down = frozenset().union(*(topology.downstream(c) for c in roots if c in topology))
    if rule.scope == "component":
        return frozenset(roots)
    if rule.scope == "downstream":
        return down
    return down | roots


def _candidates(problems: Sequence[Finding], rules: RuleSet, topology: Topology) -> list[_Candidate]:
    out: list[_Candidate] = []
    for rule in rules.rules:
        if rule.fallback:
            continue
        corroboration: list[Finding] = []
        satisfied = True
        for need in rule.requires:
            found = [f for f in problems if need(f)]
            if not found:
                satisfied = False
                break
            corroboration.extend(found)
        if not satisfied:
            continue
        for finding in problems:
            if rule.cause(finding):
                depth = topology.depth.get(finding.component, 0)
                rank = (rule.priority, depth, int(finding.severity), finding.status.rank)
                out.append(_Candidate(rule, finding, tuple(corroboration), _scope(rule, finding, topology), rank))
    out.sort(key=lambda c: (c.rank, c.cause.key), reverse=True)
    return out


def _chain(
    symptom: Finding, cause: Finding, topology: Topology, by_component: dict[str, Finding]
) -> tuple[ChainLink, ...]:
    path = topology.path(symptom.component, cause.component) or (symptom.component, cause.component)
    links: list[ChainLink] = []
    for i, component in enumerate(path):
        finding = symptom if i == 0 else cause if component == cause.component else by_component.get(component)
        if finding is None:
            links.append(ChainLink(component=component))
        else:
            links.append(
                ChainLink(component=component, code=str(finding.code), status=finding.status, summary=finding.summary)
            )
    return tuple(links)


def _worst_by_component(problems: Iterable[Finding]) -> dict[str, Finding]:
    out: dict[str, Finding] = {}
    for f in problems:
        cur = out.get(f.component)
        if cur is None or (f.status.rank, f.severity) > (cur.status.rank, cur.severity):
            out[f.component] = f
    return out


def _explains(cand: _Candidate, f: Finding) -> bool:
    """Whether ``cand`` explains ``f``: in its scope (by component, or by the components that should have produced
    what ``f`` misses) and matching its (local) symptoms, or linked to its cause by a shared value."""
    if any(link(f, cand.cause) for link in cand.rule.linked):
        return True
    if f.component not in cand.scope and not any(c in cand.scope for c in f.producers):
        return False
    return cand.rule.local_symptoms(f) if f.component == cand.cause.component else cand.rule.symptoms(f)


_Accepted = list[tuple[_Candidate, list[Finding]]]


def _accept(cand: _Candidate, explained: list[Finding], claimed: dict[str, int], accepted: _Accepted) -> None:
    """Accept ``cand`` as a root cause: it claims its cause and the ``explained`` findings nobody claimed yet."""
    index = len(accepted)
    claimed[cand.cause.key] = index
    mine = [f for f in explained if f.key not in claimed]
    for f in mine:
        claimed[f.key] = index
    accepted.append((cand, mine))


def _fallbacks(
    problems: Sequence[Finding], claimed: dict[str, int], rules: RuleSet, topology: Topology
) -> list[_Candidate]:
    """Candidates of the fallback rules: each unclaimed finding their cause matches, the component more things
    depend on first, so a failure further down the graph takes the unexplained problems that depend on it. A
    finding about missing output (Marquez has no lineage) comes after the components meant to produce it: what
    fails on them is why the output is missing, never the other way round."""
    out: list[_Candidate] = []
    for rule in (r for r in rules.rules if r.fallback):
        for f in problems:
            if f.key not in claimed and rule.cause(f):
                depth = topology.depth.get(f.component, 0)
                if f.producers:
                    depth = min(depth, *(topology.depth.get(c, 0) - 1 for c in f.producers))
                rank = (rule.priority, depth, int(f.severity), f.status.rank)
                out.append(_Candidate(rule, f, (), _scope(rule, f, topology), rank))
    out.sort(key=lambda c: (c.rank, c.cause.key), reverse=True)
    return out


def _remedy(cand: _Candidate, fixes: Mapping[str, str]) -> Remediation:
    """The rule's fix; a fallback rule's (or one with ``code_fix``) starts with the fix the cause's code declares
    (its probe knows it best)."""
    fix = fixes.get(str(cand.cause.code)) if cand.rule.fallback or cand.rule.code_fix else None
    if fix is None:
        return cand.rule.remediation
    return cand.rule.remediation.model_copy(update={"manual": (fix, *cand.rule.remediation.manual)})


def _settled(problems: Sequence[Finding], findings: Sequence[Finding], rules: RuleSet) -> set[str]:
    """Keys of the problems a settled rule matches whose component passes its own checks: at least one of them ok
    and no other problem there (what they would warn about is visibly not the case)."""
    matched = {f.key for f in problems if any(rule.finding(f) for rule in rules.settled)}
    troubled = {f.component for f in problems if f.key not in matched}
    passing = {f.component for f in findings if f.status == Status.OK}
    return {f.key for f in problems if f.key in matched and f.component in passing - troubled}


def analyze(findings: Sequence[Finding], rules: RuleSet, topology: Topology) -> Analysis:
    """Fold ``findings`` (latest per key) into ranked root causes with their symptoms."""
    problems = [f for f in findings if f.is_problem]
    settled = _settled(problems, findings, rules)
    problems = [f for f in problems if f.key not in settled]
    worst = _worst_by_component(problems)
    claimed: dict[str, int] = {}  # finding key -> index of the accepted root cause that explains it
    accepted: _Accepted = []
    candidates = _candidates(problems, rules, topology)
    cause_keys = {c.cause.key for c in candidates}
    for cand in candidates:
        owner = claimed.get(cand.cause.key)
        explained = [f for f in problems if f.key != cand.cause.key and _explains(cand, f)]
        if owner is not None:
            # Explained by a deeper cause: its symptoms join that cause instead of forming a new one. Findings
            # that are causes in their own right are left to their own candidates: second-hand claims stay narrow.
            for f in explained:
                if f.key not in claimed and f.key not in cause_keys:
                    claimed[f.key] = owner
                    accepted[owner][1].append(f)
            continue
        _accept(cand, explained, claimed, accepted)
    # No dead ends: a failure no rule explains is a cause of its own, most fundamental component first, and takes
    # what is still unexplained on its component and downstream of it (a fallback rule says how it is shown).
    for cand in _fallbacks(problems, claimed, rules, topology):
        if cand.cause.key not in claimed:
            _accept(cand, [f for f in problems if f.key != cand.cause.key and _explains(cand, f)], claimed, accepted)

    causes: list[RootCause] = []
    for cand, symptoms in accepted:
        ordered = sorted(symptoms, key=lambda f: (-f.status.rank, f.component, f.key))
        affected = sorted({f.component for f in symptoms} - {cand.cause.component})
        severity = max([cand.cause.severity, *(f.severity for f in symptoms)])
        score = (cand.cause.status.rank, int(severity), cand.rule.priority, len(affected), len(symptoms))
        causes.append(
            RootCause(
                rule=cand.rule.id,
                title=cand.rule.render_title(cand.cause),
                explanation=cand.rule.explanation,
                component=cand.cause.component,
                cause=cand.cause,
                corroboration=cand.corroboration,
                symptoms=tuple(Symptom(finding=f, chain=_chain(f, cand.cause, topology, worst)) for f in ordered),
                affected_components=tuple(affected),
                remediation=_remedy(cand, rules.fixes),
                severity=severity,
                score=score,
            )
        )
    causes.sort(key=lambda c: (c.score, c.cause.key), reverse=True)
    unexplained = tuple(
        sorted((f for f in problems if f.key not in claimed), key=lambda f: (-f.status.rank, -int(f.severity), f.key))
    )
    # A rule may say its symptoms are expected while its cause holds (no run yet): they weigh less in the verdict.
    caps = {f.key: c.rule.symptoms_count_as for c, fs in accepted if c.rule.symptoms_count_as for f in fs}
    counted = {f.key: caps[f.key] for f in findings if f.key in caps and f.status.rank > caps[f.key].rank}
    counted |= dict.fromkeys(settled, Status.OK)
    return Analysis(
        overall=worst_status(counted.get(f.key, f.status) for f in findings),
        root_causes=tuple(causes),
        unexplained=unexplained,
        findings=tuple(sorted(findings, key=lambda f: f.key)),
        counted_as=counted,
    )
