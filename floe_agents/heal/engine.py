"""The heal loop: investigate, plan, (confirm,) apply in phase order, prove each fix, stop at the first that fails.

Why in rounds: a root cause hides what is behind it (with the catalog's endpoint broken, nobody can see that the
raw tables were never seeded). So after the causes of one diagnosis are fixed, heal investigates again and, if the
fresh diagnosis shows new causes a playbook answers, plans and applies those too — at most ``max_rounds`` times
and never the same cause twice. Each fix is proven the way a person would prove it: the investigation is re-run
until the cause's own finding is no longer a problem and its rule no longer fires (bounded by the playbook's
``verify_timeout_s``); a Job that "Completed" proves nothing. The first fix that fails or does not verify stops
the heal: what was done is recorded and nothing further is attempted on a platform in an unknown state.
Before a round changes anything, every Kubernetes write it would make is asked of the API (:mod:`.permissions`):
if any is refused — or heal's Lease was — the round is not started and each refused step is reported with the
verb and resource it needs (outcome ``not-permitted``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import anyio

from floe_agents.analysis import RootCause
from floe_agents.findings import Code, Finding, Status
from floe_agents.heal.model import EXIT_CODES, AppliedFix, FixPlan, HealReport, NotPermitted, Outcome
from floe_agents.heal.permissions import LEASE_REFUSED, refused_steps
from floe_agents.heal.planner import PlannedFix, plan_cause, plan_fixes
from floe_agents.heal_context import HealContext, NotPermittedError, RemediationError
from floe_agents.playbooks import Playbook
from floe_agents.remediation import Change, RemediationRegistry
from floe_agents.swarm import Investigation

__all__ = ["Healer"]

Confirm = Callable[[list[FixPlan]], Awaitable[bool]]
Say = Callable[[str], None]
_PROBLEM = (Status.FAIL, Status.WARN)
# The probe did not finish: its silence about a subject says nothing about that subject.
_UNFINISHED = frozenset({Code.PROBE_CRASHED, Code.PROBE_TIMEOUT, Code.PROBE_GARBAGE, Code.PROBE_DEADLINE})
Standing = Literal["stands", "gone", "unobserved"]
_VERIFY_PAUSE_S = 1.0
_SETTLE_PAUSE_S = 2.0


def _health(inv: Investigation) -> dict[str, Status]:
    return {c.component: c.status for c in inv.report.components}


def _causes(inv: Investigation) -> tuple[str, ...]:
    return tuple(rc.rule for rc in inv.analysis.root_causes)


def _attempt(fix: PlannedFix) -> tuple[str, str, str]:
    """What one attempt answers: the rule on a component for one cause finding (the same rule may fire again on
    another finding — a second instance of the fault — and that one is answered too)."""
    return (fix.plan.cause, fix.plan.component, fix.cause.cause.key if fix.cause is not None else "")


def _key(plan: FixPlan) -> tuple[str, str]:
    return (plan.cause, plan.component)


def _standing(cause: Finding, inv: Investigation) -> Standing:
    """Where the finding that was the cause stands now. Gone only when its check was seen to pass — its own key no
    longer a problem, or absent from a probe that finished. A probe that timed out or crashed on a busy machine, or
    an ``unknown`` answer, proves nothing either way: the cause is *unobserved*, never taken for fixed. (The same
    rule may fire on another finding — a second instance of the fault, answered in the next round — which is not
    this cause.)"""
    same = [f for f in inv.analysis.findings if f.key == cause.key]
    if any(f.status in _PROBLEM for f in same):
        return "stands"
    if any(f.status is Status.UNKNOWN for f in same):
        return "unobserved"
    if same:
        return "gone"
    unfinished = (f for f in inv.analysis.findings if f.component == cause.component and f.check == cause.check)
    return "unobserved" if any(f.code in _UNFINISHED for f in unfinished) else "gone"


@dataclass
class Healer:
    investigate: Callable[[], Awaitable[Investigation]]
    playbooks: Mapping[str, Playbook]
    registry: RemediationRegistry
    ctx: HealContext
    confirm: Confirm
    interactive: bool = False  # a person confirms on a terminal (playbooks with `confirm: true` need one)
    say: Say = lambda _message: None
    applied: Callable[[AppliedFix], None] = lambda _fix: None  # told each fix as it ends (its span, in the CLI)
    max_rounds: int = 3
    settle_s: float = 60.0  # how long a cause heal did not start with may take to clear (a rollout in progress)
    _tried: set[tuple[str, str, str]] = field(default_factory=set)  # rule, component, cause finding
    _clock: tuple[datetime, float] = field(default_factory=lambda: (datetime.now(UTC), time.monotonic()))
    _refused: list[NotPermitted] = field(default_factory=list)

    async def plan(self, inv: Investigation) -> list[PlannedFix]:
        causes = inv.analysis.root_causes
        return await plan_fixes(causes, inv.report.root_causes, self.playbooks, self.registry, self.ctx)

    def _runnable(self, fixes: list[PlannedFix]) -> list[PlannedFix]:
        """Automatic fixes heal may apply now; one needing a person's confirmation is left to a person under --yes."""
        out: list[PlannedFix] = []
        for fix in fixes:
            if fix.plan.kind != "automatic" or _attempt(fix) in self._tried:
                continue
            if fix.plan.confirm and not self.interactive:
                continue
            out.append(fix)
        return out

    async def run(self, *, dry_run: bool) -> HealReport:
        self._clock = (datetime.now(UTC), time.monotonic())
        first = await self.investigate()
        fixes = await self.plan(first)
        shown = [self._as_shown(f) for f in fixes]
        self._refused = [f.refused for f in fixes if f.refused is not None]
        if dry_run or not fixes:
            outcome: Outcome = "healthy" if not fixes and first.report.exit_code == 0 else "planned"
            if not dry_run and outcome == "planned":
                outcome = "manual-steps-remain"
            return self._report(
                "dry-run" if dry_run else "apply", outcome, first=first, last=first, plan=shown, applied=[]
            )
        applied: list[AppliedFix] = []
        current = first
        for round_no in range(1, self.max_rounds + 1):
            runnable = self._runnable(fixes)
            if not runnable:
                break
            refused = await refused_steps(self.ctx, runnable)
            if refused:
                for each in refused:
                    self.say(each.message)
                self._refused.extend(refused)
                return self._report("apply", "not-permitted", first=first, last=current, plan=shown, applied=applied)
            if not await self.confirm([f.plan for f in runnable]):
                if round_no == 1:
                    return self._report("apply", "not-confirmed", first=first, last=first, plan=shown, applied=[])
                break
            for fix in runnable:
                self._tried.add(_attempt(fix))
                before = len(self._refused)
                result, current = await self._apply(fix, current)
                applied.append(result)
                if result.error is not None:
                    failed: Outcome = "not-permitted" if len(self._refused) > before else "step-failed"
                    return self._report("apply", failed, first=first, last=current, plan=shown, applied=applied)
            current, fixes = await self._settled(first)
            shown.extend(self._as_shown(f) for f in self._runnable(fixes))
        green = not current.analysis.root_causes and current.report.exit_code == 0
        outcome = "healed" if green else "manual-steps-remain"
        if not applied and self._refused:  # nothing could even be planned: the Role lacks the reads
            lease = LEASE_REFUSED.get()
            self._refused += [lease] if lease is not None else []
            outcome = "not-permitted"
        shown = self._with_remaining(shown, fixes)
        return self._report("apply", outcome, first=first, last=current, plan=shown, applied=applied)

    async def _apply(self, fix: PlannedFix, current: Investigation) -> tuple[AppliedFix, Investigation]:
        """Re-plan the fix on the platform as it is now (earlier fixes changed it), carry out the steps that were
        reviewed and are still needed — never one that was not reviewed — then verify."""
        assert fix.playbook is not None
        book = fix.playbook
        t0 = time.monotonic()
        cause = self._cause_of(fix, current)
        if cause is None:  # an earlier fix took this cause away too
            self.say(f"{fix.plan.cause}: already gone (an earlier fix removed it)")
            return self._applied(fix, [], True, None, t0), current
        fresh = await plan_cause(cause, None, {book.name: book}, self.registry, self.ctx)
        if fresh.plan.kind == "manual":
            return self._applied(fix, [], False, f"cannot plan it again: {fresh.plan.reason}", t0), current
        reviewed = {(a.action.verb, a.action.target) for a in fix.plan.actions}
        steps = [s for s in fresh.steps if (s.action.verb, s.action.target) in reviewed]
        changes: list[Change] = []
        self.say(f"applying {book.name} for {fix.plan.cause} ({len(steps)} step(s))")
        for step in steps:
            self.say(f"  {step.action.verb} {step.action.target}")
            try:
                changes.append(await step.run())
            except NotPermittedError as exc:  # the API did not answer the review, or answered it wrongly
                needs = (f"{exc.verb} on {exc.resource}",)
                refusal = NotPermitted(
                    cause=fix.plan.cause, playbook=book.name, target=step.action.target, verb=step.action.verb,
                    needs=needs,
                )  # fmt: skip
                self._refused.append(refusal)
                return self._applied(fix, changes, False, refusal.message, t0), current
            except RemediationError as exc:
                return self._applied(fix, changes, False, f"{step.action.target}: {exc}", t0), current
            except Exception as exc:  # a remediation's bug is a failed step, reported, never a traceback
                error = f"{step.action.target}: {type(exc).__name__}: {exc}"
                return self._applied(fix, changes, False, error, t0), current
        deadline = time.monotonic() + book.verify_timeout_s
        while True:
            current = await self.investigate()
            standing = _standing(cause.cause, current)
            if standing == "gone":
                self.say(f"  verified: {fix.plan.cause} is gone")
                return self._applied(fix, changes, True, None, t0), current
            if time.monotonic() >= deadline:
                why = "still stands" if standing == "stands" else "could not be observed (its probe did not answer)"
                error = f"verification failed: {fix.plan.cause} {why} after {book.verify_timeout_s:g}s"
                return self._applied(fix, changes, False, error, t0), current
            await anyio.sleep(_VERIFY_PAUSE_S)

    async def _settled(self, first: Investigation) -> tuple[Investigation, list[PlannedFix]]:
        """The diagnosis once the platform has settled: a cause that was not there when heal started and that no
        playbook answers (pods refusing connections while they restart) is given ``settle_s`` to clear before it
        counts; one that stays is reported."""
        before = {(rc.rule, rc.component) for rc in first.analysis.root_causes}
        deadline = time.monotonic() + self.settle_s
        while True:
            current = await self.investigate()
            fixes = await self.plan(current)
            new = [
                f.plan.cause
                for f in fixes
                if f.plan.kind == "manual" and (f.plan.cause, f.plan.component) not in before
            ]
            if not new or time.monotonic() >= deadline:
                return current, fixes
            self.say(f"waiting for the platform to settle ({', '.join(sorted(set(new)))} appeared during the heal)")
            await anyio.sleep(_SETTLE_PAUSE_S)

    @staticmethod
    def _cause_of(fix: PlannedFix, inv: Investigation) -> RootCause | None:
        """The cause as the platform shows it now, or None when it is gone. A cause no longer *named* — folded under
        a symptom of a restart in progress, or its probe unanswered on a busy machine — still stands unless its
        own finding was seen to pass: then it is fixed as planned."""
        for rc in inv.analysis.root_causes:
            if rc.rule == fix.plan.cause and rc.component == fix.plan.component:
                return rc
        if fix.cause is not None and _standing(fix.cause.cause, inv) != "gone":
            return fix.cause
        return None

    def _applied(
        self, fix: PlannedFix, changes: list[Change], verified: bool, error: str | None, t0: float
    ) -> AppliedFix:
        playbook = fix.plan.playbook or ""
        seconds = round(time.monotonic() - t0, 3)
        done = AppliedFix(
            cause=fix.plan.cause,
            playbook=playbook,
            changes=tuple(changes),
            verified=verified,
            error=error,
            seconds=seconds,
        )
        self.applied(done)
        return done

    def _as_shown(self, fix: PlannedFix) -> FixPlan:
        plan = fix.plan
        if plan.kind == "automatic" and plan.confirm and not self.interactive:
            return plan.model_copy(update={"reason": "needs a person's confirmation on a terminal (`confirm: true`)"})
        return plan

    @staticmethod
    def _with_remaining(shown: list[FixPlan], fixes: list[PlannedFix]) -> list[FixPlan]:
        """The plan as applied, plus what the last diagnosis still leaves to a person."""
        seen = {(p.cause, p.component) for p in shown}
        extra = [f.plan for f in fixes if f.plan.kind == "manual" and (f.plan.cause, f.plan.component) not in seen]
        return shown + extra

    def _report(
        self,
        mode: str,
        outcome: Outcome,
        *,
        first: Investigation,
        last: Investigation,
        plan: list[FixPlan],
        applied: list[AppliedFix],
    ) -> HealReport:
        started, t0 = self._clock
        return HealReport(
            generated_at=started,
            mode="dry-run" if mode == "dry-run" else "apply",
            namespace=self.ctx.namespace,
            outcome=outcome,
            exit_code=EXIT_CODES[outcome],
            before=_health(first),
            after=_health(last) if mode == "apply" else {},
            causes_before=_causes(first),
            causes_after=_causes(last) if mode == "apply" else (),
            plan=tuple(plan),
            applied=tuple(applied),
            not_permitted=tuple(self._refused),
            wall_s=round(time.monotonic() - t0, 3),
        )
