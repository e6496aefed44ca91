"""Before heal changes anything: may it? Every Kubernetes write of the fixes about to run, asked of the API first.

Why all of a round's steps before the first one: fixes are applied in phase order because later ones build on
earlier ones, so a heal that could take only some of them would leave the platform half-fixed. Asking first
(SelfSubjectAccessReview, :mod:`floe_agents.remediations._kube_access`) costs one small request per write and
turns "403 half-way through" into a report that names, for every step, the verb and resource the heal Role
lacks — with nothing changed. Heal's Lease is a write too: when :func:`~floe_agents.heal.lock.heal_lock` could not
take it for lack of permission, every step of the round is held back and the Lease is named. An API that will
not answer the review gives no verdict: the step is then tried, and a 403 is reported the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar

from floe_agents.heal.model import NotPermitted
from floe_agents.heal.planner import PlannedFix
from floe_agents.heal_context import HealContext
from floe_agents.remediations._kube_access import KubeNeed, action_needs, can_i

__all__ = ["LEASE_REFUSED", "refused_steps"]

# Set by heal_lock when the API refused heal's Lease (the permissions it lacks); read by the engine.
LEASE_REFUSED: ContextVar[NotPermitted | None] = ContextVar("floe_agents_heal_lease_refused", default=None)


async def denied(api: object, needs: Sequence[KubeNeed]) -> list[KubeNeed]:
    """The needs the API says it refuses (one review each; an unanswered review is not a refusal)."""
    return [need for need in needs if await can_i(api, need) is False]


async def refused_steps(ctx: HealContext, fixes: Sequence[PlannedFix]) -> list[NotPermitted]:
    """Each step of ``fixes`` the API would refuse, with what it lacks; and the Lease, when heal could not take it."""
    lease = LEASE_REFUSED.get()
    out = [lease] if lease is not None else []
    if ctx.kube is None:
        return out
    asked: dict[KubeNeed, bool] = {}
    for fix in fixes:
        for step in fix.steps:
            needs = action_needs(step.action)
            for need in needs:
                if need not in asked:
                    asked[need] = bool(await denied(ctx.kube, [need]))
            lacking = tuple(n.text for n in needs if asked[n])
            if lacking:
                out.append(
                    NotPermitted(
                        cause=fix.plan.cause,
                        playbook=fix.plan.playbook or "",
                        target=step.action.target,
                        verb=step.action.verb,
                        needs=lacking,
                    )
                )
    return out
