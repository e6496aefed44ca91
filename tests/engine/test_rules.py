"""Rules are checked at load against the codes probes declare: built-in, plugin (entry points) and --rules."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from floe_agents import rules as rules_module
from floe_agents.config import ConfigError
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding
from floe_agents.registry import LoadError, Registry, probe
from floe_agents.rules import RULES_GROUP, builtin_rules, rules_for


@probe("acme", components=("acme",), codes={"acme.down": "fail: Acme does not answer"})
async def acme(ctx: ProbeContext) -> list[Finding]:
    return []


def with_acme() -> Registry:
    """The installed probes (the built-in rules name their codes) and the acme probe."""
    return Registry.of([*Registry.from_entry_points().specs.values(), acme])


RULE = "rules:\n  - id: {id}\n    title: t\n    cause: {{codes: [{code}]}}\n"


def test_the_builtin_rules_name_only_codes_the_builtin_probes_declare() -> None:
    registry = Registry.from_entry_points()
    assert not registry.load_errors
    assert rules_for(registry).rules == builtin_rules().rules


def test_a_glob_must_match_at_least_one_declared_code(tmp_path: Path) -> None:
    registry = with_acme()
    (tmp_path / "ok.yaml").write_text(RULE.format(id="acme-glob", code="'acme.*'"))
    assert rules_for(registry, [tmp_path / "ok.yaml"]).rules[-1].id == "acme-glob"
    (tmp_path / "bad.yaml").write_text(RULE.format(id="acme-typo", code="'acme.dwn*'"))
    with pytest.raises(ConfigError) as err:
        rules_for(registry, [tmp_path])  # a folder: ok.yaml loads, bad.yaml is named
    assert str(err.value) == (
        f"{tmp_path / 'bad.yaml'}: rule acme-typo: code 'acme.dwn*' matches no code a probe declares "
        "(see floe-agents probes)"
    )


def test_without_a_registry_the_check_is_skipped_when_a_probe_failed_to_load(tmp_path: Path) -> None:
    """A probe that failed to load declares nothing: its codes in a rule cannot be told from a typo."""
    (tmp_path / "r.yaml").write_text(RULE.format(id="needs-broken", code="broken.thing"))
    broken = Registry.of([acme], [LoadError("broken = x:y", "ImportError: no")])
    assert rules_for(broken, [tmp_path / "r.yaml"]).rules[-1].id == "needs-broken"


def test_plugin_rules_come_from_the_rules_entry_point_group_and_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "acme_rules_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "acme.yaml").write_text(RULE.format(id="acme-down", code="acme.down"))
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = EntryPoint(name="acme", value="acme_rules_pkg", group=RULES_GROUP)
    monkeypatch.setattr(rules_module, "entry_points", lambda group: [ep] if group == RULES_GROUP else [])
    loaded = rules_for(with_acme())
    assert [r.id for r in loaded.rules][-1] == "acme-down"
    (package / "acme.yaml").write_text(RULE.format(id="acme-typo", code="acme.dwn"))
    with pytest.raises(ConfigError, match=r"^acme_rules_pkg/acme.yaml: rule acme-typo: code 'acme.dwn'"):
        rules_for(with_acme())
    sys.modules.pop("acme_rules_pkg", None)


def test_a_plugin_rules_package_that_cannot_be_imported_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint(name="ghost", value="no_such_rules_pkg", group=RULES_GROUP)
    monkeypatch.setattr(rules_module, "entry_points", lambda group: [ep] if group == RULES_GROUP else [])
    with pytest.raises(ConfigError, match=r"^ghost = no_such_rules_pkg: rules package not loaded"):
        rules_for(with_acme())
