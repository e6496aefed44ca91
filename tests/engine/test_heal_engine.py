"""The heal loop over an in-memory platform: probes read a dict, remediations change it, the real engine decides.

Why no servers here: what is under test is the engine's contract — plan reads only, phases order the fixes, each
fix is verified by re-investigating, the first failure stops everything, a second heal plans nothing, causes
without a playbook are left to a person, `confirm: true` is never applied by --yes — and every branch of it is
reached faster and more exactly with a platform that is a dict. The remediations against the lab have their own
tests (tests/remediations).
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.declarations import Declarations
from floe_agents.findings import Finding, Status
from floe_agents.heal.engine import Healer
from floe_agents.heal.model import FixPlan
from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.playbooks import Playbook
from floe_agents.redact import Redactor
from floe_agents.registry import Registry, probe
from floe_agents.remediation import Action, Change, Params, RemediationRegistry, Step, remediation
from floe_agents.rules import Match, RootCauseRule, RuleSet
from floe_agents.runner import RunOptions
from floe_agents.swarm import Investigation, Plan, investigate

CODES = {"t.missing": "the thing is missing", "t.ok": "the thing is there"}


class ThingParams(Params):
    thing: str


def platform_probe(state: dict[str, Any], name: str, component: str) -> Any:
    @probe(f"has_{name}", components=[component], codes=CODES)
    async def has(ctx: ProbeContext) -> Finding:
        if state.get(name):
            return ctx.finding(Status.OK, "t.ok", f"{name} is there", subject=name)
        return ctx.finding(Status.FAIL, "t.missing", f"{name} is missing", subject=name, evidence={"thing": name})

    return has


def rule(rule_id: str, component: str) -> RootCauseRule:
    return RootCauseRule(
        id=rule_id,
        title=f"{rule_id} ({{subject}})",
        cause=Match(codes=frozenset({"t.missing"}), components=frozenset({component})),
        remediation={"manual": [f"do {rule_id} by hand"]},
    )


def make_remediation(state: dict[str, Any], log: list[str], *, fail_on: str = "", no_effect: str = "") -> Any:
    @remediation("test.create", params=ThingParams, permissions=[("create", "things")])
    async def create(ctx: HealContext, params: ThingParams) -> list[Step]:
        """Create the thing when it is missing."""
        log.append(f"plan {params.thing}")
        if state.get(params.thing):
            return []

        async def run() -> Change:
            log.append(f"apply {params.thing}")
            if params.thing == fail_on:
                raise RemediationError("the server said no")
            if params.thing != no_effect:
                state[params.thing] = True
            return Change(action=action, before=None, after={"exists": True})

        action = Action(kind="http", verb="create", target=f"thing {params.thing}", summary="create it")
        return [Step(action=action, run=run)]

    return create


def book(name: str, fixes: str, phase: str, **extra: Any) -> Playbook:
    return Playbook.model_validate(
        {
            "name": name,
            "description": name,
            "fixes": [fixes],
            "phase": phase,
            "steps": [{"remediation": "test.create", "params": {"thing": "{evidence.thing}"}}],
            "verify_timeout_s": extra.pop("verify_timeout_s", 5),
            **extra,
        }
    )


class Platform:
    """Two things on two components; the rules, probes and playbooks that find and fix them."""

    def __init__(self, **remediation_options: str) -> None:
        self.state: dict[str, Any] = {"secret": False, "catalog": False}
        self.log: list[str] = []
        self.registry = Registry.of(
            [platform_probe(self.state, "secret", "a"), platform_probe(self.state, "catalog", "b")]
        )
        targets = Targets.model_validate(
            {"vantages": {"local": {}}, "components": {"a": {"endpoints": {}}, "b": {"endpoints": {}}}}
        )
        rules = RuleSet(rules=(rule("missing-secret", "a"), rule("missing-catalog", "b")))
        self.plan = Plan(targets=targets, registry=self.registry, rules=rules, options=RunOptions(deadline_s=10))
        self.remediations = RemediationRegistry.of([make_remediation(self.state, self.log, **remediation_options)])
        self.investigations = 0

    async def investigate(self) -> Investigation:
        self.investigations += 1
        return await investigate(self.plan)

    def healer(
        self, books: list[Playbook], *, confirm: bool = True, interactive: bool = False, settle_s: float = 60.0
    ) -> Healer:
        asked: list[list[FixPlan]] = []

        async def answer(plans: list[FixPlan]) -> bool:
            asked.append(plans)
            return confirm

        self.asked = asked
        self.said: list[str] = []
        ctx = HealContext(
            targets=self.plan.targets, http=httpx.AsyncClient(), redactor=Redactor(), declarations=Declarations()
        )
        return Healer(
            investigate=self.investigate,
            playbooks={b.name: b for b in books},
            registry=self.remediations,
            ctx=ctx,
            confirm=answer,
            interactive=interactive,
            say=self.said.append,
            settle_s=settle_s,
        )


BOOKS = [book("make-catalog", "missing-catalog", "catalog"), book("make-secret", "missing-secret", "secrets")]


async def test_a_dry_run_plans_in_phase_order_and_changes_nothing() -> None:
    platform = Platform()
    with anyio.fail_after(30):
        report = await platform.healer(BOOKS).run(dry_run=True)
    assert report.outcome == "planned" and report.exit_code == 1 and report.mode == "dry-run"
    assert [p.playbook for p in report.plan] == ["make-secret", "make-catalog"]  # secrets before catalog
    assert [a.action.target for p in report.plan for a in p.actions] == ["thing secret", "thing catalog"]
    assert platform.state == {"secret": False, "catalog": False}
    assert not any(entry.startswith("apply") for entry in platform.log) and platform.asked == []
    assert report.after == {} and report.applied == () and report.causes_after == ()  # nothing judged after


async def test_heal_applies_in_order_verifies_and_ends_green_then_plans_nothing() -> None:
    platform = Platform()
    with anyio.fail_after(60):
        report = await platform.healer(BOOKS).run(dry_run=False)
        assert report.outcome == "healed" and report.exit_code == 0
        assert [e for e in platform.log if e.startswith("apply")] == ["apply secret", "apply catalog"]
        assert [(a.playbook, a.verified, a.error) for a in report.applied] == [
            ("make-secret", True, None),
            ("make-catalog", True, None),
        ]
        assert report.before == {"a": Status.FAIL, "b": Status.FAIL}
        assert report.after == {"a": Status.OK, "b": Status.OK}
        assert sorted(report.causes_before) == ["missing-catalog", "missing-secret"] and report.causes_after == ()
        again = await platform.healer(BOOKS).run(dry_run=False)
    assert again.outcome == "healthy" and again.exit_code == 0 and again.applied == ()


async def test_the_first_fix_that_does_not_verify_stops_the_heal() -> None:
    platform = Platform(no_effect="secret")
    with anyio.fail_after(60):
        report = await platform.healer(
            [*BOOKS[:1], book("make-secret", "missing-secret", "secrets", verify_timeout_s=0.5)]
        ).run(dry_run=False)
    assert report.outcome == "step-failed" and report.exit_code == 2
    (failed,) = report.applied
    assert failed.playbook == "make-secret" and not failed.verified
    assert failed.error == "verification failed: missing-secret still stands after 0.5s"
    assert "apply catalog" not in platform.log and platform.state["catalog"] is False


async def test_a_step_that_fails_stops_the_heal_and_says_why() -> None:
    platform = Platform(fail_on="secret")
    with anyio.fail_after(60):
        report = await platform.healer(BOOKS).run(dry_run=False)
    assert report.outcome == "step-failed"
    (failed,) = report.applied
    assert failed.error == "thing secret: the server said no" and failed.changes == () and not failed.verified
    assert platform.said[:2] == ["applying make-secret for missing-secret (1 step(s))", "  create thing secret"]
    assert platform.state == {"secret": False, "catalog": False}


async def test_declining_the_plan_changes_nothing() -> None:
    platform = Platform()
    with anyio.fail_after(30):
        report = await platform.healer(BOOKS, confirm=False).run(dry_run=False)
    assert report.outcome == "not-confirmed" and report.exit_code == 1
    assert len(platform.asked) == 1
    assert [p.cause for p in platform.asked[0]] == ["missing-secret", "missing-catalog"]  # in phase order
    assert platform.state == {"secret": False, "catalog": False}


async def test_a_cause_without_a_playbook_is_left_with_its_manual_steps() -> None:
    platform = Platform()
    with anyio.fail_after(60):
        report = await platform.healer(BOOKS[1:]).run(dry_run=False)
    assert report.outcome == "manual-steps-remain" and report.exit_code == 1
    manual = [p for p in report.plan if p.kind == "manual"]
    assert [(p.cause, p.manual) for p in manual] == [("missing-catalog", ("do missing-catalog by hand",))]
    assert manual[0].reason and "no playbook" in manual[0].reason
    assert platform.state == {"secret": True, "catalog": False}
    assert report.causes_after == ("missing-catalog",)  # what the last diagnosis still names


async def test_a_playbook_that_needs_a_person_is_not_applied_by_yes() -> None:
    platform = Platform()
    books = [BOOKS[1], book("make-catalog", "missing-catalog", "catalog", confirm=True)]
    with anyio.fail_after(60):
        report = await platform.healer(books).run(dry_run=False)
        assert platform.state == {"secret": True, "catalog": False}
        shown = {p.cause: p for p in report.plan}
        assert shown["missing-catalog"].reason and "confirmation" in shown["missing-catalog"].reason
        assert report.outcome == "manual-steps-remain"
        interactive = await platform.healer(books, interactive=True).run(dry_run=False)
    assert interactive.outcome == "healed" and platform.state["catalog"] is True


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"thing": "{evidence.nope}"}, "{evidence.nope}: evidence has no 'nope'"),
        ({"thing": "x", "extra": 1}, "extra: Extra inputs are not permitted"),
    ],
)
async def test_parameters_that_cannot_be_filled_leave_the_cause_to_a_person(
    params: dict[str, Any], reason: str
) -> None:
    platform = Platform()
    broken = Playbook.model_validate(
        {
            "name": "make-secret",
            "description": "d",
            "fixes": ["missing-secret"],
            "phase": "secrets",
            "steps": [{"remediation": "test.create", "params": params}],
        }
    )
    with anyio.fail_after(30):
        report = await platform.healer([broken]).run(dry_run=True)
    (fix,) = [p for p in report.plan if p.cause == "missing-secret"]
    assert fix.kind == "manual" and fix.reason and reason in fix.reason
    assert fix.manual == ("do missing-secret by hand",)


class SharedParams(Params):
    thing: str
    also: str = ""


def sharing_remediation(state: dict[str, Any], log: list[str]) -> Any:
    """Creates the thing and, when asked, also ``also`` (a step two fixes may both plan); a ``surprise`` key in
    the state makes it plan one more step than it did before (what a re-plan may find)."""

    @remediation("test.create", params=SharedParams)
    async def create(ctx: HealContext, params: SharedParams) -> list[Step]:
        """Create things."""
        steps: list[Step] = []
        for name in filter(None, (params.thing, params.also, state.get("surprise") and "surprise")):
            if state.get(name):
                continue

            async def run(name: str = name) -> Change:
                log.append(f"apply {name}")
                state[name] = True
                if name == "secret":
                    state["surprise"] = True
                return Change(action=Action(kind="http", verb="create", target=f"thing {name}", summary="s"))

            steps.append(Step(Action(kind="http", verb="create", target=f"thing {name}", summary="create"), run))
        return steps

    return create


def sharing_platform() -> Platform:
    platform = Platform()
    platform.remediations = RemediationRegistry.of([sharing_remediation(platform.state, platform.log)])
    return platform


def two_step_book(name: str, fixes: str, phase: str, thing: str, also: str, **extra: Any) -> Playbook:
    step = {"remediation": "test.create", "params": {"thing": thing, "also": also}}
    return Playbook.model_validate(
        {"name": name, "description": name, "fixes": [fixes], "phase": phase, "steps": [step], **extra}
    )


async def test_an_action_two_fixes_plan_is_planned_and_applied_once_and_nothing_unreviewed_is_applied() -> None:
    platform = sharing_platform()
    books = [
        two_step_book("make-secret", "missing-secret", "secrets", "secret", "catalog"),
        two_step_book("make-catalog", "missing-catalog", "catalog", "catalog", ""),
    ]
    with anyio.fail_after(60):
        dry = await platform.healer(books).run(dry_run=True)
        by_cause = {p.cause: p for p in dry.plan}
        assert [a.action.target for a in by_cause["missing-secret"].actions] == ["thing secret", "thing catalog"]
        assert by_cause["missing-catalog"].actions == ()  # its one step is the secret fix's second
        assert by_cause["missing-catalog"].reason == "some of its steps are taken by make-secret first"
        report = await platform.healer(books).run(dry_run=False)
    assert report.outcome == "healed"
    assert "missing-catalog: already gone (an earlier fix removed it)" in platform.said
    assert [(a.playbook, a.verified, len(a.changes)) for a in report.applied] == [
        ("make-secret", True, 2),
        ("make-catalog", True, 0),  # verified: gone, with no change of its own
    ]
    assert platform.log.count("apply catalog") == 1
    # Applying the secret made the remediation want a "surprise" step no one reviewed: never applied in that
    # round; the next round plans it only for a cause that still stands (none), so it is never applied at all.
    assert "apply surprise" not in platform.log


async def test_a_playbook_whose_preconditions_fail_gives_way_to_the_next_that_fixes_the_rule() -> None:
    platform = Platform()
    needs = book("a-needs-more", "missing-secret", "secrets", preconditions=["evidence.absent"])
    books = [needs, book("b-make-secret", "missing-secret", "secrets"), BOOKS[0]]
    with anyio.fail_after(30):
        report = await platform.healer(books).run(dry_run=True)
    (fix,) = [p for p in report.plan if p.cause == "missing-secret"]
    assert fix.playbook == "b-make-secret" and fix.kind == "automatic"
    with anyio.fail_after(30):
        only = await platform.healer([needs, BOOKS[0]]).run(dry_run=True)
    (left,) = [p for p in only.plan if p.cause == "missing-secret"]
    assert left.kind == "manual" and left.playbook == "a-needs-more" and left.phase == "secrets"
    assert left.reason == "playbook a-needs-more: precondition not met: {evidence.absent}: evidence has no 'absent'"


async def test_a_step_a_re_plan_finds_that_was_not_reviewed_is_not_applied() -> None:
    platform = sharing_platform()
    books = [
        two_step_book("make-secret", "missing-secret", "secrets", "secret", ""),
        two_step_book("make-catalog", "missing-catalog", "catalog", "catalog", ""),
    ]
    with anyio.fail_after(60):
        report = await platform.healer(books).run(dry_run=False)
    # Applying the secret makes the remediation want a "surprise" step too when the catalog fix is re-planned just
    # before it runs; only the reviewed "catalog" step is applied.
    assert [e for e in platform.log if e.startswith("apply")] == ["apply secret", "apply catalog"]
    assert report.outcome == "healed"


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


def blind_catalog(platform: Platform, blind_on: set[int] | None) -> None:
    """The catalog's probe crashes on the given investigations (numbered from 1; None: every one after the first), as
    a probe does that times out on a loaded machine: it says nothing about the catalog either way."""

    @probe("has_catalog", components=["b"], codes=CODES)
    async def has(ctx: ProbeContext) -> Finding:
        n = platform.investigations
        if (n > 1) if blind_on is None else (n in blind_on):
            raise ConnectionError("the catalog probe did not get an answer")
        if platform.state.get("catalog"):
            return ctx.finding(Status.OK, "t.ok", "catalog is there", subject="catalog")
        return ctx.finding(
            Status.FAIL, "t.missing", "catalog is missing", subject="catalog", evidence={"thing": "catalog"}
        )

    secret = platform.registry.specs["has_secret"]
    platform.registry = Registry.of([secret, has])
    platform.plan = Plan(
        targets=platform.plan.targets,
        registry=platform.registry,
        rules=platform.plan.rules,
        options=platform.plan.options,
    )


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
