"""The runner's contract, pinned where mutation testing found it loose: one attempt is one call, every follow-up
runs, a list holding a non-finding is garbage, a plugin that failed to load becomes a finding."""

from __future__ import annotations

import anyio

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.findings import CannotObserveError, Code, Finding, Severity, Status
from floe_agents.registry import Registry, follow_up, probe
from floe_agents.runner import RunOptions
from floe_agents.swarm import Plan, investigate


def plan(registry: Registry, *components: str, **options: float) -> Plan:
    targets = Targets.model_validate(
        {"vantages": {"local": {}}, "components": {c: {"endpoints": {}} for c in components}}
    )
    return Plan(targets=targets, registry=registry, options=RunOptions(**options))  # type: ignore[arg-type]


def by_code(findings: tuple[Finding, ...], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


async def test_a_probe_with_one_attempt_is_not_retried() -> None:
    calls: list[int] = []

    @probe("once", components=["a"])
    async def once(ctx: ProbeContext) -> Finding:
        calls.append(1)
        raise ConnectionError("down")

    @probe("hang_once", components=["a"], timeout=0.1)
    async def hang_once(ctx: ProbeContext) -> Finding:
        calls.append(2)
        await anyio.sleep(30)
        raise AssertionError("unreachable")

    with anyio.fail_after(10):
        result = await investigate(plan(Registry.of([once, hang_once]), "a"))
    assert sorted(calls) == [1, 2]
    crashed = by_code(result.analysis.findings, Code.PROBE_CRASHED)
    assert len(crashed) == 1
    assert crashed[0].evidence == {"exception": "ConnectionError", "message": "down", "attempts": 1}
    assert crashed[0].summary == "probe 'once' crashed: ConnectionError: down"
    timed_out = by_code(result.analysis.findings, Code.PROBE_TIMEOUT)
    assert timed_out[0].evidence == {"timeout_s": 0.1, "attempts": 1}
    assert timed_out[0].summary == "probe 'hang_once' did not answer within 0.1s"


async def test_retries_count_their_attempts_and_the_last_failure_is_kept() -> None:
    calls: list[int] = []

    @probe("flaky", components=["a"], retries=2, backoff=0.01)
    async def flaky(ctx: ProbeContext) -> Finding:
        calls.append(1)
        raise ConnectionError(f"down {len(calls)}")

    with anyio.fail_after(10):
        result = await investigate(plan(Registry.of([flaky]), "a"))
    assert len(calls) == 3
    (crashed,) = by_code(result.analysis.findings, Code.PROBE_CRASHED)
    assert crashed.evidence["attempts"] == 3 and crashed.evidence["message"] == "down 3"


async def test_a_cannot_observe_answer_is_final_and_not_retried() -> None:
    calls: list[int] = []

    @probe("blind", components=["a"], retries=3, backoff=0.01)
    async def blind(ctx: ProbeContext) -> Finding:
        calls.append(1)
        raise CannotObserveError("acme.no_view", "cannot see it", subject="s", evidence={"why": "no api"})

    result = await investigate(plan(Registry.of([blind]), "a"))
    assert calls == [1]
    (f,) = result.analysis.findings
    assert (f.status, f.code, f.summary, f.subject, dict(f.evidence)) == (
        Status.UNKNOWN,
        "acme.no_view",
        "cannot see it",
        "s",
        {"why": "no api"},
    )


async def test_a_list_holding_a_non_finding_is_garbage_not_findings() -> None:
    async def mixed_fn(ctx: ProbeContext) -> object:
        return [ctx.finding(Status.OK, Code.CHECK_OK, "fine"), "oops", 3]

    async def tuple_fn(ctx: ProbeContext) -> object:
        return (
            ctx.finding(Status.FAIL, Code.TCP_REFUSED, "one", subject="1"),
            ctx.finding(Status.OK, Code.CHECK_OK, "two", subject="2"),
        )

    mixed = probe("mixed", components=["a"])(mixed_fn)  # type: ignore[arg-type]  # garbage on purpose
    as_tuple = probe("as_tuple", components=["b"])(tuple_fn)  # type: ignore[arg-type]
    result = await investigate(plan(Registry.of([mixed, as_tuple]), "a", "b"))
    a = [f for f in result.analysis.findings if f.component == "a"]
    assert [(f.code, f.status) for f in a] == [(Code.PROBE_GARBAGE, Status.UNKNOWN)]
    assert a[0].evidence == {"returned_type": "int, str"}
    assert a[0].summary == "probe 'mixed' returned int, str, not findings"
    b = sorted(f.summary for f in result.analysis.findings if f.component == "b")
    assert b == ["one", "two"]


async def test_every_follow_up_runs_for_every_subject() -> None:
    ran: list[tuple[str, str]] = []

    @probe("seed", components=["a"])
    async def seed(ctx: ProbeContext) -> list[Finding]:
        return [
            ctx.finding(Status.FAIL, Code.DNS_UNRESOLVABLE, "nope", subject="h1"),
            ctx.finding(Status.FAIL, Code.DNS_UNRESOLVABLE, "nope", subject="h2"),
        ]

    @follow_up("first", on=[Code.DNS_UNRESOLVABLE])
    async def first(ctx: ProbeContext, trigger: Finding) -> Finding:
        ran.append(("first", trigger.subject))
        return ctx.finding(Status.WARN, Code.DNS_VANTAGE_MISMATCH, "first", subject=trigger.subject)

    @follow_up("second", on=[Code.DNS_UNRESOLVABLE])
    async def second(ctx: ProbeContext, trigger: Finding) -> Finding:
        ran.append(("second", trigger.subject))
        return ctx.finding(Status.WARN, Code.DNS_VANTAGE_MISMATCH, "second", subject=trigger.subject, vantage="x")

    with anyio.fail_after(10):
        result = await investigate(plan(Registry.of([seed, first, second]), "a"))
    assert sorted(ran) == [("first", "h1"), ("first", "h2"), ("second", "h1"), ("second", "h2")]
    assert len(result.record.follow_ups) == 4
    chased = by_code(result.analysis.findings, Code.DNS_VANTAGE_MISMATCH)
    assert sorted((f.check, f.follow_up_of) for f in chased) == [
        ("first", "a/seed/h1@local"),
        ("first", "a/seed/h2@local"),
        ("second", "a/seed/h1@local"),
        ("second", "a/seed/h2@local"),
    ]


async def test_a_plugin_that_failed_to_load_becomes_an_unknown_finding() -> None:
    @probe("dup", components=["a"])
    async def one(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "fine")

    @probe("dup", components=["a"])
    async def two(ctx: ProbeContext) -> None:
        return None

    registry = Registry.of([one, two])
    (err,) = registry.load_errors
    result = await investigate(plan(registry, "a"))
    (f,) = by_code(result.analysis.findings, Code.PLUGIN_LOAD_FAILED)
    assert (f.component, f.check, f.status, f.subject) == ("floe-agents", "plugins", Status.UNKNOWN, err.entry_point)
    assert f.summary == f"probe plugin {err.entry_point} failed to load"
    assert f.evidence == {"reason": err.reason}


async def test_a_probe_past_the_deadline_gets_a_medium_deadline_finding() -> None:
    @probe("stuck", components=["a"], timeout=60)
    async def stuck(ctx: ProbeContext) -> Finding:
        await anyio.sleep(60)
        raise AssertionError("unreachable")

    with anyio.fail_after(10):
        result = await investigate(plan(Registry.of([stuck]), "a", deadline_s=0.2))
    (f,) = by_code(result.analysis.findings, Code.PROBE_DEADLINE)
    assert (f.status, f.severity, f.check) == (Status.UNKNOWN, Severity.MEDIUM, "stuck")
    assert f.summary == "stuck did not finish before the 0.2s deadline"
    assert f.evidence == {"deadline_s": 0.2, "timeout_s": 0.2}  # timeout_s: how long it had, as every timeout says


async def test_a_crash_message_from_a_hostile_answer_is_quoted_bounded_and_printable() -> None:
    @probe("echoes", components=["a"])
    async def echoes(ctx: ProbeContext) -> Finding:
        raise ValueError("bad \x1b[31mbody\x00 " + "x" * 100_000)

    with anyio.fail_after(10):
        result = await investigate(plan(Registry.of([echoes]), "a"))
    (crashed,) = by_code(result.analysis.findings, Code.PROBE_CRASHED)
    assert crashed.summary.startswith("probe 'echoes' crashed: ValueError: bad [31mbody x")
    assert "\x1b" not in crashed.summary and "\x00" not in crashed.summary
    assert len(crashed.summary) < 400 and crashed.summary.endswith("…")
    message = crashed.evidence["message"]
    assert isinstance(message, str) and len(message) == 2000 and "\x1b" not in message
