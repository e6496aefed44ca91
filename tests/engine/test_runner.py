"""The runner: concurrency, timeouts, retries, crashes, garbage, the global deadline and follow-ups."""

from __future__ import annotations

import time

import anyio
import pytest

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.registry import Registry, follow_up, probe
from floe_agents.runner import RunOptions
from floe_agents.swarm import Plan, investigate


def targets(*components: str) -> Targets:
    return Targets.model_validate({"vantages": {"local": {}}, "components": {c: {"endpoints": {}} for c in components}})


def plan(registry: Registry, *components: str, **options: float) -> Plan:
    return Plan(targets=targets(*components), registry=registry, options=RunOptions(**options))  # type: ignore[arg-type]


def by_code(findings: tuple[Finding, ...], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


async def test_agents_run_concurrently() -> None:
    everyone_in = anyio.Event()
    inside: set[str] = set()

    @probe("meet", components=["a", "b", "c", "d"], timeout=5)
    async def meet(ctx: ProbeContext) -> Finding:
        inside.add(ctx.component)
        if len(inside) == 4:
            everyone_in.set()
        await everyone_in.wait()  # only returns if all four agents are running at the same time
        return ctx.finding(Status.OK, Code.CHECK_OK, "fine")

    result = await investigate(plan(Registry.of([meet]), "a", "b", "c", "d"))
    assert [f.code for f in result.analysis.findings] == [Code.CHECK_OK] * 4


async def test_crash_hang_and_garbage_become_findings_not_crashes() -> None:
    @probe("crashes", components=["a"])
    async def crashes(ctx: ProbeContext) -> Finding:
        raise RuntimeError("kaboom")

    @probe("hangs", components=["a"], timeout=0.2)
    async def hangs(ctx: ProbeContext) -> Finding:
        await anyio.sleep(60)
        raise AssertionError("unreachable")

    async def garbage_fn(ctx: ProbeContext) -> object:
        return {"status": "ok"}

    garbage = probe("garbage", components=["a"])(garbage_fn)  # type: ignore[arg-type]  # garbage on purpose
    registry = Registry.of([crashes, hangs, garbage])
    with anyio.fail_after(5):
        result = await investigate(plan(registry, "a"))
    findings = result.analysis.findings
    crashed = by_code(findings, Code.PROBE_CRASHED)
    assert len(crashed) == 1 and "kaboom" in crashed[0].summary and crashed[0].status is Status.UNKNOWN
    timed_out = by_code(findings, Code.PROBE_TIMEOUT)
    assert len(timed_out) == 1 and timed_out[0].check == "hangs"
    junk = by_code(findings, Code.PROBE_GARBAGE)
    assert len(junk) == 1 and junk[0].evidence["returned_type"] == "dict"


async def test_retries_with_backoff_only_on_crash() -> None:
    calls: list[float] = []

    @probe("flaky", components=["a"], retries=2, backoff=0.05)
    async def flaky(ctx: ProbeContext) -> Finding:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise ConnectionError("transient")
        return ctx.finding(Status.FAIL, Code.TCP_REFUSED, "a clean answer, even a failing one, is final")

    result = await investigate(plan(Registry.of([flaky]), "a"))
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.045 and calls[2] - calls[1] >= 0.095, "backoff did not grow"
    assert [f.code for f in result.analysis.findings] == [Code.TCP_REFUSED]


async def test_global_deadline_reports_unfinished_probes_and_returns_on_time() -> None:
    @probe("stuck", components=["a", "b"], timeout=30)
    async def stuck(ctx: ProbeContext) -> Finding:
        await anyio.sleep(30)
        raise AssertionError("unreachable")

    @probe("later", components=["a"], after=["stuck"])
    async def later(ctx: ProbeContext) -> Finding:
        raise AssertionError("must never start")

    t0 = time.monotonic()
    result = await investigate(plan(Registry.of([stuck, later]), "a", "b", deadline_s=0.4))
    assert time.monotonic() - t0 < 0.4 + 1.0
    deadline = by_code(result.analysis.findings, Code.PROBE_DEADLINE)
    assert sorted((f.component, f.check) for f in deadline) == [("a", "later"), ("a", "stuck"), ("b", "stuck")]
    assert all(run.deadline_hit for run in result.record.agents.values())


async def test_concurrency_limit_is_respected() -> None:
    running = 0
    peak = 0

    @probe("count", components=[f"c{i}" for i in range(8)])
    async def count(ctx: ProbeContext) -> Finding:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.05)
        running -= 1
        return ctx.finding(Status.OK, Code.CHECK_OK, "ok")

    await investigate(plan(Registry.of([count]), *[f"c{i}" for i in range(8)], concurrency=3))
    assert peak == 3


async def test_after_orders_probes_and_passes_prior_findings() -> None:
    @probe("first", components=["a"])
    async def first(ctx: ProbeContext) -> Finding:
        await anyio.sleep(0.05)
        return ctx.finding(Status.FAIL, Code.TCP_REFUSED, "closed", subject="h:1")

    @probe("second", components=["a"], after=["first"])
    async def second(ctx: ProbeContext) -> Finding:
        assert [f.check for f in ctx.prior] == ["first"]
        return ctx.finding(Status.OK, Code.CHECK_OK, f"saw {ctx.prior[0].subject}")

    result = await investigate(plan(Registry.of([first, second]), "a"))
    assert [f.summary for f in result.analysis.findings if f.check == "second"] == ["saw h:1"]


async def test_a_probe_starts_when_its_own_after_is_done_not_when_its_level_is() -> None:
    """``second`` waits for ``first`` only: a slow probe of the same level does not hold it back."""
    slow_may_finish = anyio.Event()

    @probe("first", components=["a"])
    async def first(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "quick")

    @probe("slow", components=["a"], timeout=5)
    async def slow(ctx: ProbeContext) -> Finding:
        await slow_may_finish.wait()  # only returns if second ran while slow was still running
        return ctx.finding(Status.OK, Code.CHECK_OK, "slow")

    @probe("second", components=["a"], after=["first"])
    async def second(ctx: ProbeContext) -> Finding:
        assert [f.check for f in ctx.prior] == ["first"]
        slow_may_finish.set()
        return ctx.finding(Status.OK, Code.CHECK_OK, "after first")

    result = await investigate(plan(Registry.of([first, slow, second]), "a"))
    assert sorted(f.summary for f in result.analysis.findings) == ["after first", "quick", "slow"]


async def test_after_cycle_runs_the_rest_together_instead_of_never() -> None:
    @probe("x", components=["a"], after=["y"])
    async def x(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "x")

    @probe("y", components=["a"], after=["x"])
    async def y(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "y")

    with anyio.fail_after(3):
        result = await investigate(plan(Registry.of([x, y]), "a"))
    assert sorted(f.summary for f in result.analysis.findings) == ["x", "y"]


async def test_follow_up_runs_once_per_subject_and_links_its_trigger() -> None:
    triggered: list[str] = []

    @probe("dns_like", components=["a", "b"])
    async def dns_like(ctx: ProbeContext) -> list[Finding]:
        return [
            ctx.finding(Status.FAIL, Code.DNS_UNRESOLVABLE, "nope", subject="same-host"),
            ctx.finding(Status.OK, Code.DNS_RESOLVED, "yes", subject=f"{ctx.component}-ok"),
        ]

    @follow_up("chase", on=[Code.DNS_UNRESOLVABLE])
    async def chase(ctx: ProbeContext, trigger: Finding) -> Finding:
        triggered.append(trigger.key)
        return ctx.finding(Status.FAIL, Code.DNS_VANTAGE_MISMATCH, "chased", subject=trigger.subject, vantage="*")

    result = await investigate(plan(Registry.of([dns_like, chase]), "a", "b"))
    assert len(triggered) == 1, "the same subject must not be chased twice"
    chased = by_code(result.analysis.findings, Code.DNS_VANTAGE_MISMATCH)
    assert len(chased) == 1 and chased[0].follow_up_of == triggered[0]
    assert len(result.record.follow_ups) == 1


async def test_follow_up_that_hangs_is_bounded_by_the_deadline() -> None:
    @probe("trigger", components=["a"])
    async def trigger(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.FAIL, Code.DNS_UNRESOLVABLE, "nope", subject="h")

    @follow_up("hang", on=[Code.DNS_UNRESOLVABLE], timeout=60)
    async def hang(ctx: ProbeContext, trigger: Finding) -> Finding:
        await anyio.sleep(60)
        raise AssertionError("unreachable")

    t0 = time.monotonic()
    result = await investigate(plan(Registry.of([trigger, hang]), "a", deadline_s=0.3))
    assert time.monotonic() - t0 < 1.5
    assert [f.check for f in by_code(result.analysis.findings, Code.PROBE_DEADLINE)] == ["hang"]


def test_registry_reports_duplicate_names_as_load_errors() -> None:
    @probe("dup", components=["a"])
    async def one(ctx: ProbeContext) -> None:
        return None

    @probe("dup", components=["a"])
    async def two(ctx: ProbeContext) -> None:
        return None

    registry = Registry.of([one, two])
    assert list(registry.specs) == ["dup"] and registry.specs["dup"].fn is one.fn
    assert "duplicate" in registry.load_errors[0].reason


def test_specs_are_frozen() -> None:
    @probe("x", components=["a"])
    async def x(ctx: ProbeContext) -> None:
        return None

    with pytest.raises(AttributeError):
        x.timeout_s = 1  # type: ignore[misc]


async def test_installed_entry_points_load_the_builtin_probes() -> None:
    registry = Registry.from_entry_points()
    assert {"dns", "tcp", "http_health", "resolve_everywhere"} <= set(registry.specs)
    assert registry.load_errors == ()
    assert registry.specs["resolve_everywhere"].kind == "follow_up"
