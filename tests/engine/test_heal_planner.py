"""What the planner writes in each plan, field by field: the report and the confirmation prompt show exactly these,
so a plan that names the wrong step, drops the playbook's risk, or shows an unfilled manual step misleads the
person who approves it. Over tests/support/heal_platform.py's in-memory platform."""

from __future__ import annotations

from typing import Any

import anyio

from floe_agents.heal.model import FixPlan
from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.playbooks import Playbook
from floe_agents.remediation import RemediationRegistry, Step, remediation
from floe_agents.rules import Match, RootCauseRule, RuleSet
from floe_agents.swarm import Plan
from tests.support.heal_platform import Platform, ThingParams, book

FILLED = ("create secret in floe",)  # the rule's "create {subject} in {namespace}", filled in


def _platform(*books: Playbook, plans: Any = None) -> tuple[Platform, list[Playbook]]:
    """The platform with one rule whose manual step has placeholders, and optionally another remediation."""
    platform = Platform()
    named = RootCauseRule(
        id="missing-secret",
        title="missing-secret ({subject})",
        cause=Match(codes=frozenset({"t.missing"}), components=frozenset({"a"})),
        remediation={"manual": ["create {subject} in {namespace}"]},
    )
    targets = platform.plan.targets.model_copy(update={"namespace": "floe"})
    rules = RuleSet(rules=(named,))
    platform.plan = Plan(targets=targets, registry=platform.registry, rules=rules, options=platform.plan.options)
    if plans is not None:
        platform.remediations = RemediationRegistry.of([plans])
    return platform, list(books)


async def _plan(platform: Platform, books: list[Playbook]) -> FixPlan:
    with anyio.fail_after(30):
        report = await platform.healer(books).run(dry_run=True)
    (plan,) = report.plan
    return plan


async def test_an_automatic_plan_carries_the_playbooks_risk_phase_verify_and_the_filled_step() -> None:
    step = {"remediation": "test.create", "params": {"thing": "{namespace}-{component}-{subject}"}}
    books = [book("make-secret", "missing-secret", "secrets", risk="high", verify=["has_secret"], steps=[step])]
    plan = await _plan(*_platform(*books))
    assert (plan.kind, plan.playbook, plan.phase, plan.risk, plan.verify) == (
        "automatic", "make-secret", "secrets", "high", ("has_secret",))  # fmt: skip
    assert [a.action.target for a in plan.actions] == ["thing floe-a-secret"] and plan.manual == ()


async def test_a_playbook_that_plans_no_step_says_so_and_keeps_the_filled_manual_steps() -> None:
    @remediation("test.create", params=ThingParams)
    async def idle(ctx: HealContext, params: ThingParams) -> list[Step]:
        """Finds nothing to do (in the namespace the heal context names)."""
        return [] if ctx.namespace == "floe" else [Step(action=None, run=None)]  # type: ignore[arg-type]

    plan = await _plan(*_platform(book("make-secret", "missing-secret", "secrets"), plans=idle))
    assert (plan.kind, plan.actions, plan.manual) == ("nothing-to-do", (), FILLED)


async def test_a_step_that_cannot_be_planned_is_named_by_its_number_and_the_steps_are_filled() -> None:
    @remediation("test.create", params=ThingParams)
    async def refuses(ctx: HealContext, params: ThingParams) -> list[Step]:
        """Cannot plan."""
        raise RemediationError("the server would not say")

    two = book("make-secret", "missing-secret", "secrets",
               steps=[{"remediation": "test.create", "params": {"thing": "x"}}] * 2)  # fmt: skip
    plan = await _plan(*_platform(two, plans=refuses))
    assert (plan.kind, plan.playbook, plan.phase, plan.manual) == ("manual", "make-secret", "secrets", FILLED)
    assert plan.reason == "playbook make-secret step 1 (test.create): cannot plan: the server would not say"


async def test_parameters_a_remediation_rejects_name_the_field_or_the_parameters() -> None:
    wrong = book("make-secret", "missing-secret", "secrets",
                 steps=[{"remediation": "test.create", "params": {"thing": ["a", "b"]}}])  # fmt: skip
    plan = await _plan(*_platform(wrong))
    assert plan.reason == "playbook make-secret step 1 (test.create): thing: Input should be a valid string"
    assert plan.manual == FILLED
    unfilled = book("make-secret", "missing-secret", "secrets",
                    steps=[{"remediation": "test.create", "params": {"thing": "{evidence.nope}"}}])  # fmt: skip
    plan = await _plan(*_platform(unfilled))
    assert plan.reason == "playbook make-secret step 1 (test.create): {evidence.nope}: evidence has no 'nope'"
    assert plan.manual == FILLED
