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
import pytest

from floe_agents.findings import Status
from floe_agents.heal_context import HealContext
from floe_agents.playbooks import Playbook
from floe_agents.remediation import Action, Change, Params, RemediationRegistry, Step, remediation
from tests.support.heal_platform import (
    BOOKS,
    Platform,
    book,
)


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
