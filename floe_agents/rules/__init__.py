"""Root-cause rules, declared as data.

A rule says: *this* kind of finding (the cause) explains *those* findings (the symptoms) on the cause's own
component and/or everything that depends on it in the topology. Rules are YAML so adding knowledge about a new
failure mode is a data change reviewed like config, and each rule names the findings it needs — the coordinator
stays a generic folding engine. Built-in rules live beside this file; a package adds its own through the
``floe_agents.rules`` entry-point group (the value names an importable package holding ``*.yaml``); users add
files or folders with ``--rules``. Every code a rule names is checked at load against the codes the probes
declare (:func:`rules_for`): a typo would otherwise make a rule silently never match.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from fnmatch import fnmatchcase
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

from pydantic import Field

from floe_agents._frozen import Frozen
from floe_agents._installed import entry_points
from floe_agents.config.loading import ConfigError, parse_yaml, read_text, validate_model
from floe_agents.findings import Finding, Status
from floe_agents.registry import Registry

__all__ = [
    "RULES_GROUP",
    "Link",
    "Match",
    "Remediation",
    "RootCauseRule",
    "RuleSet",
    "SettledRule",
    "builtin_rules",
    "load_rules",
    "plugin_rules",
    "rules_for",
]

RULES_GROUP = "floe_agents.rules"
_PROBLEMS = frozenset({Status.FAIL, Status.WARN, Status.UNKNOWN})


class Match(Frozen):
    """Which findings a rule part matches. ``codes``/``not_codes`` take glob patterns (``tcp.*``); empty
    ``codes`` matches any code; ``evidence`` values must all be equal."""

    codes: frozenset[str] = frozenset()
    not_codes: frozenset[str] = frozenset()
    statuses: frozenset[Status] = frozenset({Status.FAIL})
    components: frozenset[str] | None = None
    evidence: dict[str, str] = Field(default_factory=dict)

    def __call__(self, finding: Finding) -> bool:
        if finding.status not in self.statuses:
            return False
        code = str(finding.code)
        if self.codes and not any(fnmatchcase(code, pattern) for pattern in self.codes):
            return False
        if any(fnmatchcase(code, pattern) for pattern in self.not_codes):
            return False
        if self.components is not None and finding.component not in self.components:
            return False
        return all(str(finding.evidence.get(k)) == v for k, v in self.evidence.items())


class Link(Frozen):
    """Symptoms tied to the cause by a shared value rather than by the graph: a finding with one of ``codes``
    whose evidence ``key`` equals the cause's evidence ``cause_key`` (e.g. the same host), wherever it is."""

    codes: frozenset[str]
    key: str
    cause_key: str
    statuses: frozenset[Status] = _PROBLEMS

    def __call__(self, finding: Finding, cause: Finding) -> bool:
        if finding.status not in self.statuses or not any(fnmatchcase(str(finding.code), c) for c in self.codes):
            return False
        value = cause.evidence.get(self.cause_key)
        return value is not None and str(finding.evidence.get(self.key)) == str(value)


class Remediation(Frozen):
    playbook: str | None = None
    manual: tuple[str, ...] = ()


class RootCauseRule(Frozen):
    id: str
    title: str = Field(description="Template: {component}, {subject}, {vantage}, {summary} are filled in.")
    explanation: str = ""
    cause: Match
    symptoms: Match = Field(
        default_factory=lambda: Match(statuses=_PROBLEMS),
        description="What it explains on components downstream of the cause.",
    )
    local_symptoms: Match = Field(
        default_factory=lambda: Match(statuses=_PROBLEMS), description="What it explains on the cause's own component."
    )
    scope: Literal["component", "downstream", "component+downstream", "any"] = "component+downstream"
    scope_from_evidence: str | None = Field(
        default=None, description="Evidence key listing more components the cause affects (and their dependents)."
    )
    requires: tuple[Match, ...] = Field(default=(), description="Other findings that must also be present.")
    linked: tuple[Link, ...] = Field(default=(), description="Symptoms tied to the cause by a shared value.")
    priority: int = 0
    symptoms_count_as: Status | None = Field(
        default=None,
        description="The most its symptoms weigh in the overall verdict (e.g. warn: expected while the cause holds).",
    )
    remediation: Remediation = Field(default_factory=Remediation)
    fallback: bool = Field(
        default=False,
        description="Tried after every other rule, on each finding its cause matches that nothing explains yet "
        "(no failure is left without a cause); its fix starts with the one the finding's code declares.",
    )
    code_fix: bool = Field(
        default=False,
        description="Start the fix with the one the cause's code declares, as a fallback rule's does (for a rule "
        "over several codes whose precise fixes differ: a URL with no scheme, a port, a path).",
    )

    def render_title(self, finding: Finding) -> str:
        return fill(self.title, finding)


class SettledRule(Frozen):
    """A problem that stops mattering once its component passes its own checks. Why: a chart's init Job is deleted
    after it runs (or was never kept), and whether it ran is moot once what it sets up is there; counting its
    absence would keep every healthy cluster, and every healed one, at "warnings" forever."""

    id: str
    finding: Match = Field(description="The findings this settles.")
    explanation: str = ""


_FIELD = re.compile(r"\{(component|subject|vantage|summary|namespace|evidence\.[A-Za-z0-9_]+)\}")


def fill(template: str, finding: Finding, namespace: str | None = None) -> str:
    """A rule's title or fix step with ``{component}``, ``{subject}``, ``{vantage}``, ``{summary}``,
    ``{namespace}`` and ``{evidence.<key>}`` filled from its cause finding. Other braces (JSON in a step) stay
    as written; a value the finding lacks becomes ``<key>``, a placeholder for the reader to fill."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("evidence."):
            key = name.removeprefix("evidence.")
            found = finding.evidence.get(key)
            if isinstance(found, float) and math.isfinite(found):
                return f"{found:g}"  # a time in seconds: 3.0 reads "3"
            if isinstance(found, list | tuple) and found and all(isinstance(x, str | int) for x in found):
                return ", ".join(str(x) for x in found)  # a list of names reads as one
            return (
                str(found)
                if isinstance(found, str | int) and not isinstance(found, bool) and found != ""
                else f"<{key}>"
            )
        fields = {
            "component": finding.component,
            "subject": finding.subject or finding.component,
            "vantage": finding.vantage,
            "summary": finding.summary,
            "namespace": namespace or "<namespace>",
        }
        return fields[name]

    return _FIELD.sub(value, template)


class RuleSet(Frozen):
    rules: tuple[RootCauseRule, ...] = ()
    settled: tuple[SettledRule, ...] = Field(
        default=(), description="Problems that count as ok while their component's other checks pass."
    )
    fixes: dict[str, str] = Field(
        default_factory=dict, description="Finding code -> the fix its probe declares (for the fallback rules)."
    )

    def __add__(self, other: RuleSet) -> RuleSet:
        return RuleSet(
            rules=(*self.rules, *other.rules),
            settled=(*self.settled, *other.settled),
            fixes={**self.fixes, **other.fixes},
        )

    def with_fixes(self, declared: Mapping[str, str]) -> RuleSet:
        """These rules with the fixes the run's probes declare (a fix already set here wins)."""
        return self.model_copy(update={"fixes": {**declared, **self.fixes}})


def _named_codes(rule: RootCauseRule) -> Iterator[str]:
    """Every code or glob ``rule`` names: in its cause, symptoms, required findings and linked symptoms."""
    for match in (rule.cause, rule.symptoms, rule.local_symptoms, *rule.requires):
        yield from sorted(match.codes)
        yield from sorted(match.not_codes)
    for link in rule.linked:
        yield from sorted(link.codes)


def _check_codes(rules: RuleSet, origin: str, codes: Collection[str]) -> None:
    named = [(rule.id, pattern) for rule in rules.rules for pattern in _named_codes(rule)]
    named += [(s.id, p) for s in rules.settled for p in sorted(s.finding.codes | s.finding.not_codes)]
    for rule_id, pattern in named:
        if not any(fnmatchcase(code, pattern) for code in codes):
            problem = f"code {pattern!r} matches no code a probe declares (see floe-agents probes)"
            raise ConfigError(origin, problem, field=f"rule {rule_id}")


def _load_text(text: str, origin: str, codes: Collection[str] | None) -> RuleSet:
    rules = validate_model(RuleSet, parse_yaml(text, origin), origin)
    if codes is not None:
        _check_codes(rules, origin, codes)
    return rules


def _yaml_files(folder: Traversable, origin: str, codes: Collection[str] | None) -> RuleSet:
    out = RuleSet()
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".yaml"):
            out = out + _load_text(item.read_text(encoding="utf-8"), f"{origin}{item.name}", codes)
    return out


def builtin_rules(codes: Collection[str] | None = None) -> RuleSet:
    """The rules shipped beside this module (checked against ``codes`` when given)."""
    return _yaml_files(resources.files(__package__), "builtin:", codes)


def plugin_rules(codes: Collection[str] | None = None) -> RuleSet:
    """The rules of every ``floe_agents.rules`` entry point: its value names a package holding ``*.yaml``."""
    out = RuleSet()
    for ep in entry_points(group=RULES_GROUP):
        try:
            folder = resources.files(ep.module)
        except (ImportError, TypeError) as exc:
            raise ConfigError(
                f"{ep.name} = {ep.value}", f"rules package not loaded ({type(exc).__name__}: {exc})"
            ) from None
        out = out + _yaml_files(folder, f"{ep.module}/", codes)
    return out


def load_rules(paths: Iterable[Path], codes: Collection[str] | None = None) -> RuleSet:
    """Rules from YAML files (or folders of them), added after the built-in ones."""
    out = RuleSet()
    for path in paths:
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        for file in files:
            try:
                text = read_text(file)  # bounded: refuses a huge file before reading it whole
            except ConfigError as exc:
                raise ConfigError(file, f"cannot read rules file ({exc.problem})") from None
            out = out + _load_text(text, str(file), codes)
    return out


def rules_for(registry: Registry, paths: Iterable[Path] = ()) -> RuleSet:
    """The run's rules: built-in, then plugins', then ``paths`` (``--rules``), every code checked against the
    codes the registry's probes declare. When a probe failed to load its codes are unknown, so a rule naming
    them cannot be told from a typo: the check is skipped (the report shows the load error)."""
    codes = None if registry.load_errors else frozenset(registry.declarations().codes)
    return builtin_rules(codes) + plugin_rules(codes) + load_rules(paths, codes)
