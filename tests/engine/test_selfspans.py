"""A run's spans, as an in-memory exporter receives them: one per agent under the run, one per probe under its agent,
one per follow-up under the run, each with ``component``, ``code`` and ``status``; a fix heal applied is one too."""

from __future__ import annotations

import anyio
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.heal.model import AppliedFix
from floe_agents.registry import Registry, follow_up, probe
from floe_agents.selfspans import RunSpans, remediation_span
from floe_agents.swarm import Plan, investigate


def _tracer() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _attrs(span: ReadableSpan, *names: str) -> tuple[object, ...]:
    attributes = dict(span.attributes or {})
    return tuple(attributes.get(name) for name in names)


def _by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {s.name: s for s in spans}


async def test_run_agent_probe_and_follow_up_spans_with_their_outcome() -> None:
    @probe("reach", components=["a"])
    async def reach(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.FAIL, Code.DNS_UNRESOLVABLE, "nope", subject="h1")

    @probe("quiet", components=["a"])
    async def quiet(ctx: ProbeContext) -> None:
        return None

    @probe("fine", components=["b"])
    async def fine(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "fine")

    @follow_up("chase", on=[Code.DNS_UNRESOLVABLE])
    async def chase(ctx: ProbeContext, trigger: Finding) -> Finding:
        return ctx.finding(Status.WARN, Code.DNS_VANTAGE_MISMATCH, "chased", subject=trigger.subject)

    provider, exporter = _tracer()
    tracer = provider.get_tracer("test")
    root = tracer.start_span("investigate")
    spans = RunSpans(tracer, root)
    targets = Targets.model_validate(
        {"vantages": {"local": {}}, "components": {"a": {"endpoints": {}}, "b": {"endpoints": {}}}}
    )
    with anyio.fail_after(10):
        await investigate(Plan(targets=targets, registry=Registry.of([reach, quiet, fine, chase])), observers=[spans])
    spans.close()
    root.end()
    got = _by_name(exporter.get_finished_spans())
    assert set(got) == {
        "investigate",
        "agent a",
        "agent b",
        "probe reach",
        "probe quiet",
        "probe fine",
        "follow-up chase",
    }
    run_id = root.get_span_context().span_id
    assert {got[n].parent.span_id for n in ("agent a", "agent b", "follow-up chase")} == {run_id}  # type: ignore[union-attr]
    assert got["probe reach"].parent.span_id == got["agent a"].context.span_id  # type: ignore[union-attr]
    assert got["probe fine"].parent.span_id == got["agent b"].context.span_id  # type: ignore[union-attr]
    assert _attrs(got["agent a"], "component", "code", "status") == ("a", "dns.unresolvable", "fail")
    assert got["agent a"].status.status_code is StatusCode.ERROR
    assert _attrs(got["probe quiet"], "component", "code", "status", "probe") == ("a", "", "ok", "quiet")
    assert _attrs(got["agent b"], "component", "code", "status") == ("b", "check.ok", "ok")
    follow = _attrs(got["follow-up chase"], "component", "code", "status", "trigger")
    assert follow == ("a", "dns.vantage_mismatch", "warn", "a/reach/h1@local")
    for span in got.values():
        assert span.start_time is not None and span.end_time is not None and span.start_time <= span.end_time
        assert span.context.trace_id == root.get_span_context().trace_id


def test_a_fix_heal_applied_is_a_remediation_span() -> None:
    provider, exporter = _tracer()
    tracer = provider.get_tracer("test")
    root = tracer.start_span("heal")
    fix = AppliedFix(
        cause="polaris.no_warehouse", playbook="polaris-warehouse", verified=False, error="boom", seconds=2.5
    )
    remediation_span(tracer, root, fix, "polaris")
    (span,) = exporter.get_finished_spans()
    assert span.name == "remediation polaris-warehouse"
    attrs = dict(span.attributes or {})
    assert (
        attrs.items()
        >= {"component": "polaris", "code": "polaris.no_warehouse", "status": "fail", "error": "boom"}.items()
    )
    assert span.end_time is not None and span.start_time is not None
    assert span.end_time - span.start_time == 2_500_000_000
    assert span.status.status_code is StatusCode.ERROR
