"""From root causes to a plan: which playbook answers each cause, with what parameters, doing exactly what.

Why plans are built by asking each remediation (and not written in the playbook): only the remediation can read
the system and say what is still missing, so the plan is exact (the request and its body) and is empty on a
system that is already fixed. Planning only reads. A cause is left to a person — its manual steps kept, the reason
said — when no playbook answers it, a precondition does not hold, a parameter cannot be filled, a remediation is
not installed or cannot plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from floe_agents.analysis import RootCause
from floe_agents.heal.fill import FillError, fill_params, resolve, scope_for
from floe_agents.heal.model import FixPlan, NotPermitted, PlannedAction
from floe_agents.heal_context import HealContext, NotPermittedError, RemediationError
from floe_agents.playbooks import PHASES, Playbook
from floe_agents.remediation import RemediationRegistry, Step

__all__ = ["PlannedFix", "plan_fixes", "playbooks_for"]


@dataclass(frozen=True)
class PlannedFix:
    """A cause's plan as shown, and the steps that carry it out (same order)."""

    plan: FixPlan
    steps: tuple[Step, ...] = ()
    playbook: Playbook | None = None
    cause: RootCause | None = None
    preconditions_unmet: bool = False
    refused: NotPermitted | None = None  # planning itself was refused a read (the Role lacks it)


def playbooks_for(cause: RootCause, playbooks: Mapping[str, Playbook]) -> list[Playbook]:
    """The playbooks that fix the cause's rule: the one its rule names first, then the others by name."""
    named = cause.remediation.playbook
    found = [playbooks[n] for n in sorted(playbooks) if cause.rule in playbooks[n].fixes]
    return sorted(found, key=lambda b: b.name != named)


def _manual(
    cause: RootCause, shown: RootCause | None, reason: str, book: Playbook | None = None, *, unmet: bool = False
) -> PlannedFix:
    steps = (shown or cause).remediation.manual
    plan = FixPlan(
        cause=cause.rule,
        title=cause.title,
        component=cause.component,
        kind="manual",
        playbook=book.name if book else None,
        phase=book.phase if book else None,
        manual=steps,
        reason=reason,
    )
    return PlannedFix(plan, preconditions_unmet=unmet)


async def _plan_one(
    cause: RootCause,
    shown: RootCause | None,
    book: Playbook,
    registry: RemediationRegistry,
    ctx: HealContext,
) -> PlannedFix:
    scope = scope_for(cause, ctx.namespace, ctx.platform)
    for condition in book.preconditions:
        try:
            resolve(condition, scope)
        except FillError as exc:
            return _manual(cause, shown, f"playbook {book.name}: precondition not met: {exc}", book, unmet=True)
    steps: list[Step] = []
    actions: list[PlannedAction] = []
    for index, step in enumerate(book.steps, 1):
        where = f"playbook {book.name} step {index} ({step.remediation})"
        spec = registry.get(step.remediation)
        if spec is None:
            return _manual(cause, shown, f"{where}: remediation is not installed", book)
        try:
            params = spec.parse(fill_params(step.params, scope))
            planned = await spec.plan(ctx, params)
        except FillError as exc:
            return _manual(cause, shown, f"{where}: {exc}", book)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "params"
            return _manual(cause, shown, f"{where}: {field}: {first['msg']}", book)
        except NotPermittedError as exc:
            manual = _manual(cause, shown, f"{where}: cannot plan: {exc}", book)
            refused = NotPermitted(cause=cause.rule, playbook=book.name, target=f"plan {step.remediation}",
                                   verb="plan", needs=(f"{exc.verb} on {exc.resource}",))  # fmt: skip
            return PlannedFix(manual.plan, refused=refused)
        except RemediationError as exc:
            return _manual(cause, shown, f"{where}: cannot plan: {exc}", book)
        steps.extend(planned)
        actions.extend(PlannedAction(remediation=spec.name, action=s.action) for s in planned)
    plan = FixPlan(
        cause=cause.rule,
        title=cause.title,
        component=cause.component,
        kind="automatic" if steps else "nothing-to-do",
        playbook=book.name,
        phase=book.phase,
        risk=book.risk,
        confirm=book.confirm,
        actions=tuple(actions),
        manual=(shown or cause).remediation.manual if not steps else (),
        verify=book.verify,
    )
    return PlannedFix(plan, tuple(steps), book, cause)


async def plan_cause(
    cause: RootCause,
    shown: RootCause | None,
    playbooks: Mapping[str, Playbook],
    registry: RemediationRegistry,
    ctx: HealContext,
) -> PlannedFix:
    """The cause's plan from the first playbook fixing its rule whose preconditions hold (else why not)."""
    books = playbooks_for(cause, playbooks)
    if not books:
        return _manual(cause, shown, "no playbook answers this cause: it needs a person")
    first: PlannedFix | None = None
    for book in books:
        planned = await _plan_one(cause, shown, book, registry, ctx)
        if not planned.preconditions_unmet:
            return planned
        first = first or planned
    assert first is not None
    return first


def _key(step: Step) -> tuple[str, str, str]:
    """The same action: verb, target and what it is for (a restart after a migration is not the restart that
    followed a new Secret, though both patch the same Deployment)."""
    return (step.action.verb, step.action.target, step.action.summary)


def _without_repeats(fixes: list[PlannedFix]) -> list[PlannedFix]:
    """Each action once: a step an earlier fix (in apply order) already takes is not planned again; a fix left
    with no step of its own is still applied (verified) after the fix that does its work."""
    seen: dict[tuple[str, str, str], str] = {}
    out: list[PlannedFix] = []
    for fix in fixes:
        own = [s for s in fix.steps if _key(s) not in seen]
        done_by = sorted({seen[_key(s)] for s in fix.steps if _key(s) in seen})
        for step in own:
            seen[_key(step)] = fix.plan.playbook or fix.plan.cause
        if len(own) == len(fix.steps):
            out.append(fix)
            continue
        kept = {_key(s) for s in own}
        actions = tuple(a for a in fix.plan.actions if (a.action.verb, a.action.target, a.action.summary) in kept)
        note = f"some of its steps are taken by {', '.join(done_by)} first"
        plan = fix.plan.model_copy(update={"actions": actions, "reason": note})
        out.append(PlannedFix(plan, tuple(own), fix.playbook, fix.cause))
    return out


async def plan_fixes(
    causes: Sequence[RootCause],
    shown: Sequence[RootCause],
    playbooks: Mapping[str, Playbook],
    registry: RemediationRegistry,
    ctx: HealContext,
) -> list[PlannedFix]:
    """One :class:`PlannedFix` per cause, in the order heal applies them (phase, then the diagnosis's rank), each
    action planned once.

    ``shown`` are the report's root causes (fix steps filled in), matched to ``causes`` by rule and component.
    """
    filled = {(rc.rule, rc.component): rc for rc in shown}
    out = [await plan_cause(c, filled.get((c.rule, c.component)), playbooks, registry, ctx) for c in causes]
    rank = {phase: i for i, phase in enumerate(PHASES)}

    def when(fix: PlannedFix) -> int:
        return rank[fix.plan.phase] if fix.plan.phase else len(rank)  # causes left to a person last

    return _without_repeats(sorted(out, key=when))  # stable: the diagnosis's rank within a phase
