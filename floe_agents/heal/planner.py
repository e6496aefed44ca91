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
from floe_agents.heal.model import FixPlan, PlannedAction
from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.playbooks import PHASES, Playbook
from floe_agents.remediation import RemediationRegistry, Step

__all__ = ["PlannedFix", "plan_fixes", "playbook_for"]


@dataclass(frozen=True)
class PlannedFix:
    """A cause's plan as shown, and the steps that carry it out (same order)."""

    plan: FixPlan
    steps: tuple[Step, ...] = ()
    playbook: Playbook | None = None


def playbook_for(cause: RootCause, playbooks: Mapping[str, Playbook]) -> Playbook | None:
    """The playbook the cause's rule names, else the first (by name) that lists the rule in ``fixes``."""
    named = cause.remediation.playbook
    if named and named in playbooks and cause.rule in playbooks[named].fixes:
        return playbooks[named]
    for name in sorted(playbooks):
        if cause.rule in playbooks[name].fixes:
            return playbooks[name]
    return None


def _manual(cause: RootCause, shown: RootCause | None, reason: str, book: Playbook | None = None) -> PlannedFix:
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
    return PlannedFix(plan)


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
            return _manual(cause, shown, f"playbook {book.name}: precondition not met: {exc}", book)
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
    return PlannedFix(plan, tuple(steps), book)


async def plan_fixes(
    causes: Sequence[RootCause],
    shown: Sequence[RootCause],
    playbooks: Mapping[str, Playbook],
    registry: RemediationRegistry,
    ctx: HealContext,
) -> list[PlannedFix]:
    """One :class:`PlannedFix` per cause, in the order heal applies them (phase, then the diagnosis's rank).

    ``shown`` are the report's root causes (fix steps filled in), matched to ``causes`` by rule and component.
    """
    filled = {(rc.rule, rc.component): rc for rc in shown}
    out: list[PlannedFix] = []
    for cause in causes:
        display = filled.get((cause.rule, cause.component))
        book = playbook_for(cause, playbooks)
        if book is None:
            out.append(_manual(cause, display, "no playbook answers this cause: it needs a person"))
            continue
        out.append(await _plan_one(cause, display, book, registry, ctx))
    rank = {phase: i for i, phase in enumerate(PHASES)}
    order = {id(fix): i for i, fix in enumerate(out)}
    return sorted(out, key=lambda f: (rank.get(f.plan.phase, len(rank)) if f.plan.phase else len(rank), order[id(f)]))
