"""The fixes probes declare (shown when no rule explains a failure): each belongs to a failure code its probe
declares, uses only the placeholders a rule's fix may use, and names no deployment (no Floe release, namespace
or bucket written in: a stack under other names gets its own). And the lineage URL a wrong one most likely meant."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

import pytest

from floe_agents.probes.marquez import suggested_lineage_url
from floe_agents.registry import Registry
from floe_agents.rules import builtin_rules

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
ALLOWED = re.compile(r"component|subject|vantage|summary|namespace|evidence\.[A-Za-z0-9_]+")
SPECS = Registry.from_entry_points().specs


def test_every_builtin_failure_has_a_rule_or_a_declared_fix() -> None:
    """No dead ends, down to the fix: a failure is either a rule's cause (its fix is the rule's) or its probe says
    how to fix it (the fallback root cause shows that)."""
    causes = [pattern for rule in builtin_rules().rules if not rule.fallback for pattern in rule.cause.codes]
    bare = [
        code
        for spec in SPECS.values()
        for code, meaning in spec.codes.items()
        if meaning.startswith("fail") and code not in spec.fixes and not any(fnmatchcase(code, p) for p in causes)
    ]
    assert bare == []


@pytest.mark.parametrize("name", sorted(n for n, s in SPECS.items() if s.fixes))
def test_each_fix_is_for_a_declared_failure_with_known_placeholders_and_no_fixed_names(name: str) -> None:
    spec = SPECS[name]
    for code, fix in spec.fixes.items():
        assert code in spec.codes and spec.codes[code].startswith("fail"), (name, code)
        assert [p for p in PLACEHOLDER.findall(fix) if not ALLOWED.fullmatch(p)] == [], (code, fix)
        assert not re.search(r"floe-|demo_catalog|iceberg-bronze|floe\b", fix), (code, fix)


@pytest.mark.parametrize(
    ("configured", "meant"),
    [
        ("http://m:5000", "http://m:5000/api/v1/lineage"),
        ("http://m:5000/api/v1", "http://m:5000/api/v1/lineage"),
        ("http://m:5000/lineage", "http://m:5000/api/v1/lineage"),
        ("http://m:5000/api/v1/lineage/", "http://m:5000/api/v1/lineage"),
        ("https://proxy/marquez/api/v1/oops?x=1", "https://proxy/marquez/api/v1/lineage"),
    ],
)
def test_a_wrong_lineage_url_suggests_the_lineage_api_under_the_same_origin(configured: str, meant: str) -> None:
    assert suggested_lineage_url(configured) == meant
