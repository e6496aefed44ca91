"""A timeout measured while floe-agents itself could not run is asked again; one measured on a free loop stands.

The stall is made real, not simulated: a probe blocks the event loop with a synchronous sleep (as a client built
or a module imported on a busy machine does), so every tick of the meter wakes late by that much. The checks
bound the stall from below only (a loop cannot wake before a blocking sleep ends), never a timer from above.
"""

from __future__ import annotations

import time

import anyio

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.registry import ProbeSpec, Registry, probe
from floe_agents.runner import RunOptions
from floe_agents.stall import STARVED_S, StallMeter, timed_out
from floe_agents.swarm import Plan, investigate

BLOCK_S = STARVED_S + 0.3


def plan(registry: Registry) -> Plan:
    targets = Targets.model_validate({"vantages": {"local": {}}, "components": {"c": {"endpoints": {}}}})
    return Plan(targets=targets, registry=registry, options=RunOptions(deadline_s=30))


async def test_the_meter_counts_the_time_the_loop_was_blocked() -> None:
    meter = StallMeter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(meter.run)
        await anyio.sleep(0.2)  # the meter is ticking
        before = meter.stalled()
        time.sleep(BLOCK_S)  # noqa: ASYNC251 - the stall under test
        await anyio.sleep(0.2)  # a tick wakes, late
        lost = meter.stalled() - before
        tg.cancel_scope.cancel()
    assert lost >= BLOCK_S - 0.1


def _blocking_probe(calls: list[int], *, first: tuple[str, dict[str, str]], block: bool = True) -> ProbeSpec:
    @probe("flaky", components=["c"], codes={"t.timeout": "x", "t.missing": "y", "t.ok": "z"})
    async def flaky(ctx: ProbeContext) -> Finding:
        calls.append(1)
        if len(calls) == 1:
            await anyio.sleep(0.2)  # let the meter tick before the stall
            if block:
                time.sleep(BLOCK_S)  # noqa: ASYNC251 - the stall under test
            await anyio.sleep(0.2)  # and after it
            code, evidence = first
            return ctx.finding(Status.FAIL, code, "no answer in time", evidence=evidence)
        return ctx.finding(Status.OK, "t.ok", "answered")

    return flaky


async def test_a_timeout_while_the_loop_was_stalled_is_asked_again() -> None:
    calls: list[int] = []
    spec = _blocking_probe(calls, first=("t.timeout", {}))
    with anyio.fail_after(30):
        result = await investigate(plan(Registry.of([spec])))
    assert len(calls) == 2
    assert [(f.code, f.status) for f in result.analysis.findings] == [("t.ok", Status.OK)]


async def test_a_reason_timeout_counts_as_a_timeout_too() -> None:
    calls: list[int] = []
    spec = _blocking_probe(calls, first=("t.missing", {"reason": "timeout"}))
    with anyio.fail_after(30):
        result = await investigate(plan(Registry.of([spec])))
    assert len(calls) == 2 and [f.code for f in result.analysis.findings] == ["t.ok"]


async def test_a_timeout_on_a_free_loop_stands() -> None:
    calls: list[int] = []
    spec = _blocking_probe(calls, first=("t.timeout", {}), block=False)
    with anyio.fail_after(30):
        result = await investigate(plan(Registry.of([spec])))
    assert len(calls) == 1 and [f.code for f in result.analysis.findings] == ["t.timeout"]


async def test_a_failure_that_is_no_timeout_stands_even_after_a_stall() -> None:
    calls: list[int] = []
    spec = _blocking_probe(calls, first=("t.missing", {"reason": "refused"}))
    with anyio.fail_after(30):
        result = await investigate(plan(Registry.of([spec])))
    assert len(calls) == 1 and [f.code for f in result.analysis.findings] == ["t.missing"]


def test_only_problems_resting_on_a_timeout_are_timeouts() -> None:
    def finding(status: Status, code: str, **evidence: str) -> Finding:
        return Finding(component="c", check="p", status=status, code=code, summary="s", evidence=evidence)

    assert timed_out([finding(Status.FAIL, str(Code.TCP_TIMEOUT))])
    assert timed_out([finding(Status.UNKNOWN, str(Code.PROBE_TIMEOUT))])
    assert timed_out([finding(Status.FAIL, "postgres.unreachable", reason="timeout")])
    assert timed_out([finding(Status.UNKNOWN, "k8s.api_unreachable", reason="no answer within 3s", error="timeout")])
    assert not timed_out([finding(Status.UNKNOWN, "k8s.api_unreachable", reason="refused", error="ConnectError")])
    assert not timed_out([finding(Status.OK, "x.timeout_ok")])  # an OK answer is never retried
    assert not timed_out([finding(Status.FAIL, "postgres.unreachable", reason="refused")])
    assert not timed_out([])
