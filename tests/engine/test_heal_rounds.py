"""The heal engine across rounds (tests/support/heal_platform.py's in-memory platform): causes that appear or go
dark while fixes restart things, verification that waits for a probe, re-plans at apply time, remediations that
crash, playbooks that give way, and what is left to a person at the end.
"""

from __future__ import annotations

from typing import Any

import anyio

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.playbooks import Playbook
from floe_agents.registry import Registry, probe
from floe_agents.remediation import Action, Change, Params, RemediationRegistry, Step, remediation
from floe_agents.rules import Match, RootCauseRule, RuleSet
from floe_agents.runner import RunOptions
from floe_agents.swarm import Plan
from tests.support.heal_platform import (
    BOOKS,
    CODES,
    Platform,
    ThingParams,
    blind_catalog,
    book,
    make_remediation,
    rule,
)


async def test_a_cause_that_appears_while_the_heal_restarts_things_is_waited_out_not_reported() -> None:
    """Applying the secret fix makes component c refuse for four investigations (a rollout): heal waits for it."""
    platform = Platform()
    state = platform.state
    calls = {"n": 0}

    @probe("restarting", components=["c"], codes=CODES)
    async def restarting(ctx: ProbeContext) -> Finding:
        calls["n"] += 1
        if state.get("secret") and state.setdefault("rollout", 4) > 0:
            state["rollout"] -= 1
            return ctx.finding(Status.FAIL, "t.missing", "c refuses while it restarts", subject="c")
        return ctx.finding(Status.OK, "t.ok", "c answers", subject="c")

    registry = Registry.of([*platform.registry.specs.values(), restarting])
    targets = Targets.model_validate(
        {"vantages": {"local": {}}, "components": {n: {"endpoints": {}} for n in ("a", "b", "c")}}
    )
    rules = RuleSet(rules=(*platform.plan.rules.rules, rule("c-down", "c")))
    platform.plan = Plan(targets=targets, registry=registry, rules=rules, options=RunOptions(deadline_s=10))
    healer = platform.healer(BOOKS)
    healer.settle_s = 60
    with anyio.fail_after(120):
        report = await healer.run(dry_run=False)
    assert report.outcome == "healed" and report.causes_after == (), report
    assert state["rollout"] == 0
    assert "waiting for the platform to settle (c-down appeared during the heal)" in platform.said


async def test_a_cause_its_probe_could_not_see_for_a_moment_is_still_fixed_not_taken_for_gone() -> None:
    """Right after the secret fix the catalog's probe does not answer, so missing-catalog is not named: that silence
    is not the catalog existing. The catalog fix is applied and verified once the probe answers again."""
    platform = Platform()
    blind_catalog(platform, {2})
    with anyio.fail_after(60):
        report = await platform.healer(BOOKS).run(dry_run=False)
    assert [e for e in platform.log if e.startswith("apply")] == ["apply secret", "apply catalog"]
    assert [(a.playbook, a.verified, len(a.changes)) for a in report.applied] == [
        ("make-secret", True, 1),
        ("make-catalog", True, 1),
    ]
    assert report.outcome == "healed" and platform.state == {"secret": True, "catalog": True}
    assert "  verified: missing-catalog is gone" in platform.said


async def test_a_verification_waits_for_a_probe_that_does_not_answer_at_first() -> None:
    """The catalog's probe is blind on the check right after the catalog fix (investigation 3): verification asks
    again within the playbook's verify timeout and sees it pass."""
    platform = Platform()
    blind_catalog(platform, {3})
    with anyio.fail_after(60):
        report = await platform.healer(BOOKS).run(dry_run=False)
    assert report.outcome == "healed" and [a.verified for a in report.applied] == [True, True]
    assert platform.investigations >= 4


async def test_a_fix_whose_probe_never_answers_again_is_not_verified() -> None:
    """Verification needs the cause's check seen passing; a probe that only crashes after the fix proves nothing."""
    platform = Platform()
    blind_catalog(platform, None)
    with anyio.fail_after(60):
        report = await platform.healer(
            [BOOKS[1], book("make-catalog", "missing-catalog", "catalog", verify_timeout_s=0.5)]
        ).run(dry_run=False)
    assert report.outcome == "step-failed" and report.exit_code == 2
    failed = report.applied[-1]
    assert failed.playbook == "make-catalog" and not failed.verified
    assert failed.error == (
        "verification failed: missing-catalog could not be observed (its probe did not answer) after 0.5s"
    )


class RestartParams(Params):
    why: str


def restart_remediation(state: dict[str, Any], log: list[str]) -> Any:
    """Restarts the one shared workload for a reason: the same target, a different action for each reason."""

    @remediation("test.restart", params=RestartParams)
    async def restart(ctx: HealContext, params: RestartParams) -> list[Step]:
        """Restart the workload after a change."""
        if state.get(f"restarted for {params.why}"):
            return []
        action = Action(kind="kubernetes", verb="patch", target="Deployment d", summary=f"restart: {params.why}")

        async def run() -> Change:
            log.append(f"restart for {params.why}")
            state[f"restarted for {params.why}"] = True
            return Change(action=action)

        return [Step(action=action, run=run)]

    return restart


async def test_the_same_target_changed_for_two_reasons_is_two_actions() -> None:
    """A restart after the migration is not the restart that followed the new Secret, though both patch the same
    Deployment: neither is folded into the other, and both are applied, each after its own fix."""
    platform = Platform()
    platform.remediations = RemediationRegistry.of(
        [make_remediation(platform.state, platform.log), restart_remediation(platform.state, platform.log)]
    )

    def with_restart(name: str, fixes: str, phase: str) -> Playbook:
        thing = fixes.removeprefix("missing-")
        steps = [{"remediation": "test.create", "params": {"thing": thing}},
                 {"remediation": "test.restart", "params": {"why": thing}}]  # fmt: skip
        return Playbook.model_validate(
            {"name": name, "description": name, "fixes": [fixes], "phase": phase, "steps": steps}
        )

    books = [
        with_restart("make-secret", "missing-secret", "secrets"),
        with_restart("make-catalog", "missing-catalog", "catalog"),
    ]
    with anyio.fail_after(60):
        dry = await platform.healer(books).run(dry_run=True)
        assert [[a.action.summary for a in p.actions if a.action.verb == "patch"] for p in dry.plan] == [
            ["restart: secret"],
            ["restart: catalog"],
        ]
        report = await platform.healer(books).run(dry_run=False)
    assert report.outcome == "healed"
    assert [e for e in platform.log if e.startswith(("apply", "restart"))] == [
        "apply secret", "restart for secret", "apply catalog", "restart for catalog"]  # fmt: skip


async def test_a_remediation_that_crashes_is_a_failed_step_saying_why_never_a_traceback() -> None:
    platform = Platform()

    @remediation("test.create", params=ThingParams)
    async def broken(ctx: HealContext, params: ThingParams) -> list[Step]:
        """Plans a step whose run has a bug."""
        action = Action(kind="http", verb="create", target=f"thing {params.thing}", summary="create it")

        async def run() -> Change:
            raise ValueError("a bug in the remediation")

        return [Step(action=action, run=run)]

    platform.remediations = RemediationRegistry.of([broken])
    with anyio.fail_after(30):
        report = await platform.healer(BOOKS).run(dry_run=False)
    assert report.outcome == "step-failed" and report.exit_code == 2
    (failed,) = report.applied
    assert failed.error == "thing secret: ValueError: a bug in the remediation" and failed.changes == ()
    assert not failed.verified


async def test_a_fix_that_cannot_be_planned_again_when_its_turn_comes_fails_saying_why() -> None:
    """Planned and confirmed, then refused at its re-plan (the platform changed under it): a failed fix, not a
    skipped one, with the reason the remediation gave; nothing after it runs."""
    platform = Platform()
    plans = {"n": 0}

    @remediation("test.create", params=ThingParams)
    async def once(ctx: HealContext, params: ThingParams) -> list[Step]:
        """Plans once, refuses after."""
        plans["n"] += 1
        if plans["n"] > 2:  # the dry-run-like first plan of both causes, then the re-plan of the first
            raise RemediationError("the server no longer allows it")
        action = Action(kind="http", verb="create", target=f"thing {params.thing}", summary="create it")

        async def run() -> Change:
            return Change(action=action)

        return [Step(action=action, run=run)]

    platform.remediations = RemediationRegistry.of([once])
    with anyio.fail_after(30):
        report = await platform.healer(BOOKS).run(dry_run=False)
    assert report.outcome == "step-failed"
    (failed,) = report.applied
    assert failed.playbook == "make-secret" and not failed.verified and failed.changes == ()
    assert failed.error is not None and failed.error.startswith("cannot plan it again: ")
    assert "the server no longer allows it" in failed.error and failed.seconds >= 0


async def test_the_playbook_a_rule_names_is_tried_first() -> None:
    platform = Platform()
    named = RootCauseRule(
        id="missing-secret",
        title="missing-secret ({subject})",
        cause=Match(codes=frozenset({"t.missing"}), components=frozenset({"a"})),
        remediation={"playbook": "z-named", "manual": ["by hand"]},
    )
    platform.plan = Plan(
        targets=platform.plan.targets,
        registry=platform.registry,
        rules=RuleSet(rules=(named, rule("missing-catalog", "b"))),
        options=platform.plan.options,
    )
    books = [book("a-first", "missing-secret", "secrets"), book("z-named", "missing-secret", "secrets"), BOOKS[0]]
    with anyio.fail_after(30):
        report = await platform.healer(books).run(dry_run=True)
    (fix,) = [p for p in report.plan if p.cause == "missing-secret"]
    assert fix.playbook == "z-named"


async def test_a_playbook_whose_remediation_is_not_installed_leaves_the_cause_to_a_person() -> None:
    """Only a precondition gives way to the next playbook: a playbook that names a remediation nobody installed is
    a broken install, said as such, not silently replaced by another way of fixing the cause."""
    platform = Platform()
    broken = book("a-broken", "missing-secret", "secrets")
    broken = broken.model_copy(update={"steps": (broken.steps[0].model_copy(update={"remediation": "no.such"}),)})
    books = [broken, book("b-make-secret", "missing-secret", "secrets"), BOOKS[0]]
    with anyio.fail_after(30):
        report = await platform.healer(books).run(dry_run=True)
    (fix,) = [p for p in report.plan if p.cause == "missing-secret"]
    assert (fix.kind, fix.playbook, fix.phase) == ("manual", "a-broken", "secrets")
    assert fix.reason and "no.such" in fix.reason and "not installed" in fix.reason


async def test_a_cause_only_seen_after_a_fix_and_with_no_playbook_is_listed_for_a_person() -> None:
    """The catalog's probe is blind on the first diagnosis: missing-catalog first shows once the secret is fixed.
    No playbook answers it, so the report's plan ends with its manual steps (and only the manual ones are added)."""
    platform = Platform()
    blind_catalog(platform, {1})
    with anyio.fail_after(120):
        report = await platform.healer(BOOKS[1:], settle_s=1.0).run(dry_run=False)
    assert report.outcome == "manual-steps-remain" and platform.state["secret"] is True
    assert "waiting for the platform to settle (missing-catalog appeared during the heal)" in platform.said
    assert [(p.cause, p.kind) for p in report.plan] == [("missing-secret", "automatic"), ("missing-catalog", "manual")]
    assert report.plan[-1].manual == ("do missing-catalog by hand",)


async def test_with_nothing_heal_may_apply_the_heal_ends_with_the_manual_steps_and_applies_nothing() -> None:
    platform = Platform()
    with anyio.fail_after(60):
        report = await platform.healer([]).run(dry_run=False)
    assert (report.mode, report.outcome, report.exit_code) == ("apply", "manual-steps-remain", 1)
    assert sorted((p.cause, p.kind) for p in report.plan) == [
        ("missing-catalog", "manual"),
        ("missing-secret", "manual"),
    ]
    assert report.applied == () and platform.state == {"secret": False, "catalog": False}


async def test_a_fix_left_to_a_person_does_not_hold_back_the_fixes_after_it() -> None:
    """The secret's playbook wants a person's confirmation (not given by --yes) and comes first in phase order:
    the catalog's fix, after it, is still applied."""
    platform = Platform()
    books = [book("make-secret", "missing-secret", "secrets", confirm=True), BOOKS[0]]
    with anyio.fail_after(60):
        report = await platform.healer(books).run(dry_run=False)
    assert platform.state == {"secret": False, "catalog": True}
    assert [(a.playbook, a.verified) for a in report.applied] == [("make-catalog", True)]
    assert 0 <= report.applied[0].seconds < 3600 and report.outcome == "manual-steps-remain"


async def test_warnings_no_rule_names_are_left_as_they_are_and_said_so() -> None:
    """No root cause, but the diagnosis is not green (a warning): heal has nothing to plan, and says manual steps
    remain (exit 1) rather than "healthy"."""
    platform = Platform()

    @probe("has_catalog", components=["b"], codes=CODES)
    async def warns(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.WARN, "t.ok", "catalog is slow", subject="catalog")

    platform.registry = Registry.of([warns])
    platform.plan = Plan(targets=platform.plan.targets, registry=platform.registry, rules=platform.plan.rules,
                         options=platform.plan.options)  # fmt: skip
    with anyio.fail_after(60):
        report = await platform.healer(BOOKS).run(dry_run=False)
        dry = await platform.healer(BOOKS).run(dry_run=True)
    assert (report.mode, report.outcome, report.exit_code, report.plan) == ("apply", "manual-steps-remain", 1, ())
    assert (dry.mode, dry.outcome) == ("dry-run", "planned")


async def test_one_rule_firing_on_two_components_is_fixed_on_each_with_its_own_evidence() -> None:
    """missing-thing names both the secret (on a) and the catalog (on b): two causes of one rule. Each fix is
    re-planned from its own component's cause (its own evidence), so both things are made, each once."""
    platform = Platform()
    either = RootCauseRule(
        id="missing-thing", title="missing-thing ({subject})", cause=Match(codes=frozenset({"t.missing"}))
    )
    platform.plan = Plan(targets=platform.plan.targets, registry=platform.registry, rules=RuleSet(rules=(either,)),
                         options=platform.plan.options)  # fmt: skip
    with anyio.fail_after(60):
        report = await platform.healer([book("make-thing", "missing-thing", "secrets")]).run(dry_run=False)
    assert report.outcome == "healed" and platform.state == {"secret": True, "catalog": True}
    assert sorted(e for e in platform.log if e.startswith("apply")) == ["apply catalog", "apply secret"]
    assert [(a.playbook, a.verified, len(a.changes)) for a in report.applied] == [("make-thing", True, 1)] * 2
