"""The run told as typed events: each agent's story in order, the deadline, follow-ups, and the immutable record
and report the engine builds from the same events."""

from __future__ import annotations

from typing import TypeVar

import anyio
import pytest

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.events import (
    AgentDeadlineHit,
    AgentFinished,
    AgentStarted,
    FindingPosted,
    FollowUpLaunched,
    RunEvent,
    RunStarted,
)
from floe_agents.findings import Code, Finding, Status
from floe_agents.registry import Registry, follow_up, probe
from floe_agents.runner import RunOptions
from floe_agents.swarm import Plan, investigate


def plan(registry: Registry, *components: str, deadline_s: float = 20.0) -> Plan:
    targets = Targets.model_validate(
        {"vantages": {"local": {}}, "components": {c: {"endpoints": {}} for c in components}}
    )
    return Plan(targets=targets, registry=registry, options=RunOptions(deadline_s=deadline_s))


T = TypeVar("T")


def of_type(events: list[RunEvent], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


async def test_events_tell_each_agent_and_add_up_to_the_record_and_the_report() -> None:
    @probe("look", components=["a", "b"])
    async def look(ctx: ProbeContext) -> Finding:
        status = Status.FAIL if ctx.component == "b" else Status.OK
        return ctx.finding(status, Code.DNS_UNRESOLVABLE if status is Status.FAIL else Code.CHECK_OK, "x", subject="h")

    @follow_up("chase", on=[Code.DNS_UNRESOLVABLE])
    async def chase(ctx: ProbeContext, trigger: Finding) -> Finding:
        return ctx.finding(Status.FAIL, Code.DNS_VANTAGE_MISMATCH, "chased", subject=trigger.subject)

    events: list[RunEvent] = []
    result = await investigate(plan(Registry.of([look, chase]), "a", "b"), observers=[events.append])

    assert events[0] == RunStarted(("a", "b"))
    for component in ("a", "b"):
        started = events.index(AgentStarted(component))
        [finished] = [i for i, e in enumerate(events) if isinstance(e, AgentFinished) and e.component == component]
        assert started < finished
    assert {e.finding.code for e in of_type(events, FindingPosted)} == {
        Code.CHECK_OK,
        Code.DNS_UNRESOLVABLE,
        Code.DNS_VANTAGE_MISMATCH,
    }
    [launched] = of_type(events, FollowUpLaunched)
    assert (launched.probe, launched.code) == ("chase", Code.DNS_UNRESOLVABLE)

    record = result.record
    assert list(record.agents) == ["a", "b"] and record.follow_ups == (launched,)
    assert record.agents == {e.component: e for e in of_type(events, AgentFinished)}
    assert list(record.agents["a"].probes) == ["look"] and not record.agents["a"].deadline_hit
    with pytest.raises(TypeError):
        record.agents["c"] = record.agents["a"]  # type: ignore[index]  # read-only on purpose

    report = result.report
    assert report.follow_ups == [f"chase <- {launched.trigger} [dns.unresolvable]"]
    assert [(t.component, list(t.probes)) for t in report.agents] == [("a", ["look"]), ("b", ["look"])]
    assert report.agents[0].duration_s == round(record.agents["a"].duration_s, 3)
    assert report.overall is result.analysis.overall and report.vantage == "local"


async def test_the_deadline_is_told_before_the_agent_finishes() -> None:
    @probe("stuck", components=["a"], timeout=30)
    async def stuck(ctx: ProbeContext) -> Finding:
        await anyio.sleep(30)
        raise AssertionError("unreachable")

    @probe("quick", components=["a"])
    async def quick(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "fine")

    events: list[RunEvent] = []
    result = await investigate(plan(Registry.of([stuck, quick]), "a", deadline_s=0.3), observers=[events.append])

    lifecycle = [e for e in events if not isinstance(e, FindingPosted)]
    assert lifecycle[:3] == [RunStarted(("a",)), AgentStarted("a"), AgentDeadlineHit("a", ("stuck",))]
    [finished] = lifecycle[3:]
    assert isinstance(finished, AgentFinished) and finished.deadline_hit and list(finished.probes) == ["quick"]
    assert finished.duration_s > 0  # its own clock: the agent may start after the deadline timer did
    assert result.report.agents[0].deadline_hit
