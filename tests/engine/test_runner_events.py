"""The run's events, pinned where mutation testing found them loose: the deadline event names the agent and its
unfinished probes, an agent's and its probes' durations are spans of the run (never more than the wall time around
it), and a launched follow-up names the finding that triggered it."""

from __future__ import annotations

import time

import anyio

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.events import AgentDeadlineHit, AgentFinished, FollowUpLaunched, RunEvent
from floe_agents.findings import Code, Finding, Status
from floe_agents.registry import Registry, follow_up, probe
from floe_agents.runner import RunOptions
from floe_agents.swarm import Plan, investigate


def plan(registry: Registry, *components: str, **options: float) -> Plan:
    targets = Targets.model_validate(
        {"vantages": {"local": {}}, "components": {c: {"endpoints": {}} for c in components}}
    )
    return Plan(targets=targets, registry=registry, options=RunOptions(**options))  # type: ignore[arg-type]


async def test_the_deadline_event_names_the_agent_and_its_unfinished_probes() -> None:
    @probe("quick", components=["a"])
    async def quick(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "fine")

    @probe("stuck", components=["a"], timeout=60)
    async def stuck(ctx: ProbeContext) -> Finding:
        await anyio.sleep(60)
        raise AssertionError("unreachable")

    @probe("later", components=["a"], after=["stuck"])
    async def later(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "fine")

    events: list[RunEvent] = []
    with anyio.fail_after(10):
        await investigate(plan(Registry.of([quick, stuck, later]), "a", deadline_s=0.2), observers=[events.append])
    (hit,) = [e for e in events if isinstance(e, AgentDeadlineHit)]
    assert hit.component == "a"
    assert sorted(hit.unfinished) == ["later", "stuck"]
    (finished,) = [e for e in events if isinstance(e, AgentFinished)]
    assert finished.component == "a" and finished.deadline_hit is True
    assert set(finished.probes) == {"quick"}


async def test_agent_and_probe_durations_are_spans_within_the_run() -> None:
    @probe("one", components=["a"])
    async def one(ctx: ProbeContext) -> Finding:
        await anyio.sleep(0.01)
        return ctx.finding(Status.OK, Code.CHECK_OK, "fine")

    @probe("two", components=["a"], after=["one"])
    async def two(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "fine")

    events: list[RunEvent] = []
    t0 = time.monotonic()
    with anyio.fail_after(10):
        result = await investigate(plan(Registry.of([one, two]), "a"), observers=[events.append])
    wall = time.monotonic() - t0
    (finished,) = [e for e in events if isinstance(e, AgentFinished)]
    assert 0 <= finished.duration_s <= wall
    assert set(finished.probes) == {"one", "two"}
    assert all(0 <= seconds <= finished.duration_s for seconds in finished.probes.values())
    assert finished.deadline_hit is False
    assert result.record.agents["a"].duration_s == finished.duration_s


async def test_a_launched_follow_up_names_its_trigger_and_the_trigger_s_code() -> None:
    @probe("seed", components=["a"])
    async def seed(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.FAIL, Code.DNS_UNRESOLVABLE, "nope", subject="h1")

    @follow_up("chase", on=[Code.DNS_UNRESOLVABLE])
    async def chase(ctx: ProbeContext, trigger: Finding) -> Finding:
        return ctx.finding(Status.WARN, Code.DNS_VANTAGE_MISMATCH, "chased", subject=trigger.subject)

    events: list[RunEvent] = []
    with anyio.fail_after(10):
        await investigate(plan(Registry.of([seed, chase]), "a"), observers=[events.append])
    launched = [e for e in events if isinstance(e, FollowUpLaunched)]
    assert launched == [FollowUpLaunched("chase", "a/seed/h1@local", "dns.unresolvable")]
