"""How the runner schedules, pinned where mutation testing found it loose: ``concurrency`` 1 means one probe at a
time, an ``after`` naming no probe of the agent is not waited for (and crashes nothing), retries wait the policy's
delays from the first, a follow-up that does not match a finding never stops the next one from being launched, and
deadline findings a wedged subscriber cannot take are given up after the grace instead of holding the run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import anyio
import httpx

from floe_agents.bus import Bus
from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext, Services
from floe_agents.findings import Code, Finding, Status
from floe_agents.registry import Registry, RetryPolicy, follow_up, probe
from floe_agents.runner import Runner, RunOptions
from floe_agents.swarm import Plan, investigate


def targets(*components: str) -> Targets:
    return Targets.model_validate({"vantages": {"local": {}}, "components": {c: {"endpoints": {}} for c in components}})


def plan(registry: Registry, *components: str, **options: float) -> Plan:
    return Plan(targets=targets(*components), registry=registry, options=RunOptions(**options))  # type: ignore[arg-type]


async def test_concurrency_one_runs_one_probe_at_a_time() -> None:
    running = 0
    peak = 0

    @probe("count", components=["c0", "c1", "c2"])
    async def count(ctx: ProbeContext) -> Finding:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.05)
        running -= 1
        return ctx.finding(Status.OK, Code.CHECK_OK, "ok")

    with anyio.fail_after(10):
        result = await investigate(plan(Registry.of([count]), "c0", "c1", "c2", concurrency=1))
    assert peak == 1
    assert len(result.analysis.findings) == 3


async def test_an_after_naming_no_probe_of_the_agent_is_not_waited_for() -> None:
    @probe("elsewhere", components=["b"])
    async def elsewhere(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "b")

    @probe("lonely", components=["a"], after=["ghost", "elsewhere"])
    async def lonely(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "a")

    with anyio.fail_after(10):
        result = await investigate(plan(Registry.of([elsewhere, lonely]), "a", "b"))
    assert sorted((f.component, f.code) for f in result.analysis.findings) == [("a", "check.ok"), ("b", "check.ok")]


@dataclass(frozen=True)
class _AskedDelays(RetryPolicy):
    """A retry policy that records which delays the runner asks it for (and waits none)."""

    asked: list[int] = field(default_factory=list, compare=False, hash=False)

    def delay(self, attempt: int) -> float:
        self.asked.append(attempt)
        return 0.0


async def test_retries_wait_the_policy_s_delays_from_the_first() -> None:
    @probe("flaky", components=["a"])
    async def flaky(ctx: ProbeContext) -> Finding:
        raise ConnectionError("down")

    policy = _AskedDelays(attempts=3)
    spec = dataclasses.replace(flaky, retry=policy)
    with anyio.fail_after(10):
        result = await investigate(plan(Registry.of([spec]), "a"))
    assert policy.asked == [0, 1]  # before the 2nd attempt delay(0) = backoff, before the 3rd delay(1)
    (crashed,) = result.analysis.findings
    assert crashed.evidence["attempts"] == 3


async def test_a_follow_up_that_does_not_match_never_stops_the_next_one() -> None:
    ran: list[str] = []

    @probe("seed", components=["a"])
    async def seed(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.FAIL, Code.DNS_UNRESOLVABLE, "nope", subject="h1")

    @follow_up("aaa_on_refused", on=[Code.TCP_REFUSED])
    async def on_refused(ctx: ProbeContext, trigger: Finding) -> None:
        ran.append("aaa_on_refused")

    @follow_up("chase", on=[Code.DNS_UNRESOLVABLE])
    async def chase(ctx: ProbeContext, trigger: Finding) -> None:
        ran.append("chase")

    for order in ([on_refused, chase], [chase, on_refused]):
        ran.clear()
        with anyio.fail_after(10):
            result = await investigate(plan(Registry.of([seed, *order]), "a"))
        assert ran == ["chase"]
        assert [f.probe for f in result.record.follow_ups] == ["chase"]


async def test_deadline_findings_a_wedged_subscriber_cannot_take_are_given_up_after_the_grace() -> None:
    @probe("stuck", components=["a"], timeout=60)
    async def stuck(ctx: ProbeContext) -> Finding:
        await anyio.sleep(60)
        raise AssertionError("unreachable")

    more = [dataclasses.replace(stuck, name=f"stuck{i}") for i in range(3)]
    registry = Registry.of(more)
    bus = Bus()
    wedged = bus.subscribe("wedged", buffer=1)  # nobody reads it while the run lasts
    returned = anyio.Event()
    had_to_unwedge = False

    async def watchdog() -> None:
        # Liveness only (no bound on the run's time): if the run is still stuck long after its grace, take the
        # findings so the test fails instead of hanging.
        nonlocal had_to_unwedge
        with anyio.move_on_after(30):
            await returned.wait()
            return
        had_to_unwedge = True
        async with wedged:
            async for _ in wedged:
                pass

    async with httpx.AsyncClient() as http:
        services = Services(http=http, resolvers={}, declarations=registry.declarations())
        base = ProbeContext(component="", check="", targets=targets("a"), services=services)
        runner = Runner(registry.agents({"a": ((), True)}), (), base, RunOptions(deadline_s=0.1, grace_s=0.05))
        runner.attach(bus)
        async with anyio.create_task_group() as tg:
            tg.start_soon(watchdog)
            record = await runner.run(bus)
            returned.set()
    assert not had_to_unwedge
    assert record.agents["a"].deadline_hit
    async with wedged:
        taken = [f async for f in wedged]
    assert [f.code for f in taken] == [Code.PROBE_DEADLINE]  # the one its buffer held; the others were given up
