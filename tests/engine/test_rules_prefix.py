"""The namespace prefix slip, as a class: any qualifier and a dot in front of the meant namespace is named a
"prefix" with the name to write instead, and its fix renames the configured layer; no playbook answers it, so
heal never creates the wrong (nested) namespace."""

from __future__ import annotations

from floe_agents.analysis import analyze
from floe_agents.findings import Finding, Status
from floe_agents.playbooks import builtin_playbook_dir, load_playbooks
from floe_agents.rules import builtin_rules, fill
from floe_agents.topology import floe_topology


def slip(ns: str, prefix: str, meant: str) -> Finding:
    ev = {"namespace": ns, "prefix": prefix, "intended_namespace": meant, "intended_exists": False,
          "expected_by": "layers.silver.namespace"}  # fmt: skip
    return Finding(component="polaris", check="polaris", status=Status.FAIL, code="polaris.namespace_prefix_mistake",
                   summary=f"{ns} is prefixed", subject=ns, evidence=ev)  # fmt: skip


def test_any_prefix_is_named_with_the_namespace_meant_and_fixed_by_renaming_the_layer() -> None:
    analysis = analyze([slip("ops.team.silver", "ops.team", "silver")], builtin_rules(), floe_topology())
    (rc,) = analysis.root_causes
    assert rc.rule == "namespace-prefix-slip" and rc.remediation.playbook is None
    assert (
        rc.title == "Namespace ops.team.silver is written with a prefix (ops.team.): the catalog's namespace is silver"
    )
    steps = [fill(step, rc.cause, "prod") for step in rc.remediation.manual]
    assert steps[0].startswith(
        "Rename it where it is configured: layers.silver.namespace = silver (not ops.team.silver)"
    )
    assert "Do not create ops.team.silver" in steps[1]


def test_no_playbook_answers_a_prefix_slip() -> None:
    books = load_playbooks([builtin_playbook_dir()])
    assert [name for name, book in books.items() if "namespace-prefix-slip" in book.fixes] == []
