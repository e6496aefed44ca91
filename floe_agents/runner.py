"""Running the swarm: every agent concurrently, under one deadline, and never crashing.

Contract (what a person at 3 a.m. relies on):

* all agents start at once in one task group, bounded by a capacity limiter (``concurrency``);
* each probe runs under its own timeout (``fail_after``-style ``move_on_after``) and is retried with backoff only
  when it crashed or hung; a probe that raises, hangs or returns garbage becomes an ``unknown`` finding that says
  why — the swarm itself never raises because of a probe;
* the global deadline cancels whatever still runs; each agent then posts a ``probe.deadline_exceeded`` finding for
  every probe that did not finish (shielded, with a short grace), so the report is complete and on time;
* follow-ups are event-driven: a reactive subscription hands each triggering finding, with its bus lease, to the
  follow-up probes that asked for it, deduplicated by (probe, subject);
* what happens (agent started, finished with its probe timings, hit the deadline, follow-up launched) is told as
  typed events (:mod:`floe_agents.events`) to the observers passed in, and :meth:`Runner.run` returns the
  immutable record they add up to: nothing mutable of the run leaves it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import anyio
import structlog
from anyio.abc import TaskGroup

from floe_agents.bus import Bus, Delivery, Publisher, Subscription
from floe_agents.context import ProbeContext
from floe_agents.events import (
    AgentDeadlineHit,
    AgentFinished,
    AgentStarted,
    FollowUpLaunched,
    Observer,
    Recorder,
    RunEvent,
    RunRecord,
    RunStarted,
)
from floe_agents.findings import CannotObserveError, Code, Finding, Severity, Status
from floe_agents.registry import AgentSpec, LoadError, ProbeSpec
from floe_agents.stall import STARVED_S, StallMeter, timed_out
from floe_agents.text import printable

__all__ = ["RUN_GRACE_S", "RunOptions", "Runner"]

log = structlog.get_logger("floe_agents.runner")

# An exception's message is quoted, never trusted: a crash on a hostile answer can carry its bytes.
_MESSAGE_CHARS = 300
_EVIDENCE_CHARS = 2000


# How long past its deadline a run may take, whatever the servers do (issue 11, finding 2): ``grace_s`` (1 s) for
# the deadline findings, the HTTP and Kubernetes clients' bounded close (transport.CLOSE_TIMEOUT_S, 0.5 s each, at
# once), the diagnosis and the report. bench/hostile.py holds a run to it.
RUN_GRACE_S = 2.0


@dataclass(frozen=True, slots=True)
class RunOptions:
    """``deadline_s``: when every probe still running is cancelled; the run itself ends by ``deadline_s`` +
    :data:`RUN_GRACE_S`. ``grace_s``: how long the deadline findings may take to post."""

    deadline_s: float = 20.0
    concurrency: int = 32
    grace_s: float = 1.0


def _validate(spec: ProbeSpec, ctx: ProbeContext, result: object) -> list[Finding]:
    if result is None:
        return []
    if isinstance(result, Finding):
        return [result]
    if isinstance(result, list | tuple) and all(isinstance(f, Finding) for f in result):
        return list(result)
    bad = type(result).__name__
    if isinstance(result, list | tuple):
        bad = ", ".join(sorted({type(f).__name__ for f in result if not isinstance(f, Finding)}))
    return [
        ctx.finding(
            Status.UNKNOWN,
            Code.PROBE_GARBAGE,
            f"probe {spec.name!r} returned {bad}, not findings",
            evidence={"returned_type": bad},
        )
    ]


class Runner:
    """Runs agents and follow-ups for one investigation. Create one per run."""

    def __init__(
        self,
        agents: Sequence[AgentSpec],
        follow_ups: Sequence[ProbeSpec],
        base: ProbeContext,
        options: RunOptions | None = None,
        load_errors: Sequence[LoadError] = (),
        *,
        observers: Sequence[Observer] = (),
    ) -> None:
        self.agents = tuple(agents)
        self.follow_ups = tuple(follow_ups)
        self.base = base
        self.options = options or RunOptions()
        self.load_errors = tuple(load_errors)
        self._recorder = Recorder()
        self._observers: tuple[Observer, ...] = (self._recorder, *observers)
        self._limiter = anyio.CapacityLimiter(max(1, self.options.concurrency))
        self._reactor: Subscription[Delivery] | None = None
        self._stall = StallMeter()

    def _emit(self, event: RunEvent) -> None:
        for observer in self._observers:
            observer(event)

    def attach(self, bus: Bus) -> None:
        """Subscribe the follow-up reactor. Call before :meth:`run` and before any publisher is opened."""
        if self.follow_ups:
            specs = self.follow_ups
            self._reactor = bus.subscribe_reactive(
                "follow-ups", predicate=lambda f: any(s.triggered_by(f) for s in specs)
            )

    async def run(self, bus: Bus) -> RunRecord:
        """Run everything; returns the run's record when all agents and follow-ups are done or the deadline passed."""
        self._emit(RunStarted(tuple(agent.component for agent in self.agents)))
        publishers = [bus.publisher() for _ in self.agents]
        errors_pub = bus.publisher()
        bus.close()
        async with errors_pub:
            for err in self.load_errors:
                await errors_pub.publish(self._load_error_finding(err))
        async with anyio.create_task_group() as meter:
            meter.start_soon(self._stall.run)
            with anyio.move_on_after(self.options.deadline_s) as scope:
                async with anyio.create_task_group() as tg:
                    if self._reactor is not None:
                        tg.start_soon(self._react, self._reactor, tg)
                    for agent, pub in zip(self.agents, publishers, strict=True):
                        tg.start_soon(self._agent, agent, pub)
            meter.cancel_scope.cancel()
        if scope.cancelled_caught:
            log.warning("deadline reached", deadline_s=self.options.deadline_s)
        return self._recorder.record()

    def _load_error_finding(self, err: LoadError) -> Finding:
        ctx = self.base.for_component("floe-agents").for_check("plugins")
        return ctx.finding(
            Status.UNKNOWN,
            Code.PLUGIN_LOAD_FAILED,
            f"probe plugin {err.entry_point} failed to load",
            subject=err.entry_point,
            evidence={"reason": err.reason},
        )

    async def _agent(self, agent: AgentSpec, pub: Publisher) -> None:
        started = time.monotonic()
        self._emit(AgentStarted(agent.component))
        finished: dict[str, list[Finding]] = {}
        probes: dict[str, float] = {}  # probe -> seconds, as each finishes
        deadline_hit = False
        base = self.base.for_component(agent.component)
        # Each probe starts as soon as the probes it names in ``after`` are done, not when a whole level is: a quick
        # http_health never waits for a slow application probe. A name from the same or a later level (a cycle)
        # is not waited for, as levels() already breaks cycles.
        level_of = {spec.name: i for i, level in enumerate(agent.levels()) for spec in level}
        done = {name: anyio.Event() for name in level_of}

        async def when_ready(spec: ProbeSpec) -> None:
            for name in spec.after:
                if level_of.get(name, len(level_of)) < level_of[spec.name]:
                    await done[name].wait()
            prior = tuple(f for name in spec.after for f in finished.get(name, ()))
            try:
                await self._probe_task(spec, base.for_check(spec.name, prior), pub, finished, probes)
            finally:
                done[spec.name].set()

        async with pub:
            try:
                async with anyio.create_task_group() as tg:
                    for level in agent.levels():
                        for spec in level:
                            tg.start_soon(when_ready, spec)
            except anyio.get_cancelled_exc_class():
                deadline_hit = True
                missing = [s for s in agent.probes if s.name not in finished]
                self._emit(AgentDeadlineHit(agent.component, tuple(s.name for s in missing)))
                await self._post_deadline(pub, [(base.for_check(s.name), s) for s in missing])
                raise
            finally:
                duration = time.monotonic() - started
                self._emit(AgentFinished(agent.component, duration, MappingProxyType(dict(probes)), deadline_hit))

    async def _post_deadline(self, pub: Publisher, items: list[tuple[ProbeContext, ProbeSpec]]) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(self.options.grace_s):
            for ctx, spec in items:
                await pub.publish(
                    ctx.finding(
                        Status.UNKNOWN,
                        Code.PROBE_DEADLINE,
                        f"{spec.name} did not finish before the {self.options.deadline_s:g}s deadline",
                        severity=Severity.MEDIUM,
                        evidence={"deadline_s": self.options.deadline_s, "timeout_s": self.options.deadline_s},
                    )
                )

    async def _probe_task(
        self,
        spec: ProbeSpec,
        ctx: ProbeContext,
        pub: Publisher,
        finished: dict[str, list[Finding]],
        probes: dict[str, float],
    ) -> None:
        t0 = time.monotonic()
        findings = await self.execute(spec, ctx)
        probes[spec.name] = time.monotonic() - t0
        for f in findings:
            await pub.publish(f)
        finished[spec.name] = findings

    async def execute(self, spec: ProbeSpec, ctx: ProbeContext, trigger: Finding | None = None) -> list[Finding]:
        """Run one probe with its timeout and retries; always returns findings, never raises (but cancellation).
        An answer that rests on a timeout while floe-agents itself was starved (:mod:`floe_agents.stall`) is not
        evidence about the component: the probe is asked once more."""
        stalled = self._stall.stalled()
        found = await self._execute(spec, ctx, trigger)
        if timed_out(found) and (lost := self._stall.stalled() - stalled) >= STARVED_S:
            log.info("asking again: the event loop stalled", probe=spec.name, stalled_s=round(lost, 2))
            found = await self._execute(spec, ctx, trigger)
        return found

    async def _execute(self, spec: ProbeSpec, ctx: ProbeContext, trigger: Finding | None) -> list[Finding]:
        failure: Finding | None = None
        for attempt in range(max(1, spec.retry.attempts)):
            if attempt:
                await anyio.sleep(spec.retry.delay(attempt - 1))
            async with self._limiter:
                with anyio.move_on_after(spec.timeout_s) as scope:
                    try:
                        result = await spec.invoke(ctx, trigger)
                    except CannotObserveError as exc:  # an answer, not a crash: never retried
                        return [
                            ctx.finding(
                                Status.UNKNOWN, exc.code, exc.summary, subject=exc.subject, evidence=exc.evidence
                            )
                        ]
                    except Exception as exc:
                        log.debug("probe crashed", probe=spec.name, component=ctx.component, error=repr(exc))
                        failure = ctx.finding(
                            Status.UNKNOWN,
                            Code.PROBE_CRASHED,
                            f"probe {spec.name!r} crashed: {type(exc).__name__}: {printable(str(exc), _MESSAGE_CHARS)}",
                            evidence={
                                "exception": type(exc).__name__,
                                "message": printable(str(exc), _EVIDENCE_CHARS),
                                "attempts": attempt + 1,
                            },
                        )
                        continue
                    return _validate(spec, ctx, result)
            if scope.cancelled_caught:
                failure = ctx.finding(
                    Status.UNKNOWN,
                    Code.PROBE_TIMEOUT,
                    f"probe {spec.name!r} did not answer within {spec.timeout_s:g}s",
                    evidence={"timeout_s": spec.timeout_s, "attempts": attempt + 1},
                )
        assert failure is not None
        return [failure]

    async def _react(self, sub: Subscription[Delivery], tg: TaskGroup) -> None:
        seen: set[tuple[str, str]] = set()
        async with sub:
            async for delivery in sub:
                finding = delivery.finding
                async with delivery.lease as lease:
                    for spec in self.follow_ups:
                        key = (spec.name, finding.subject or finding.key)
                        if not spec.triggered_by(finding) or key in seen:
                            continue
                        seen.add(key)
                        self._emit(FollowUpLaunched(spec.name, finding.key, str(finding.code)))
                        tg.start_soon(self._follow_up, spec, finding, lease.clone())

    async def _follow_up(self, spec: ProbeSpec, trigger: Finding, pub: Publisher) -> None:
        ctx = self.base.for_component(trigger.component).for_check(spec.name)
        async with pub:
            try:
                findings = await self.execute(spec, ctx, trigger)
                for f in findings:
                    if f.follow_up_of is None:
                        f = f.model_copy(update={"follow_up_of": trigger.key})  # noqa: PLW2901
                    await pub.publish(f)
            except anyio.get_cancelled_exc_class():
                await self._post_deadline(pub, [(ctx, spec)])
                raise
