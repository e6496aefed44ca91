"""Jaeger: is the query API up, does the OTLP receiver take spans, and do the platform's traces actually arrive?

The seed report's observability fault is silent: the emitters fall back to a NoOp exporter, so Jaeger is up,
its collector port is open, and ``/api/services`` lists only ``jaeger-all-in-one`` (Jaeger tracing its own
query API). The only way to see it is to ask for the service name the platform *configures* and find nothing.
That name comes from platform.yaml (``observability.attributes["service.name"]``) and never from a constant:
upstream's validate scripts look for ``floe-demo`` while the config emits ``floe-k8s-local``, so they pass or
fail for the wrong reason. The OTLP receiver is checked with TCP and, when grpcio is importable, an empty
``TraceService/Export`` call (zero spans, so nothing is written) that proves it speaks OTLP/gRPC.
"""

from __future__ import annotations

import errno
import time
from functools import partial

import anyio
import httpx

from floe_agents.context import Endpoint, ProbeContext
from floe_agents.findings import PRODUCED_BY, Code, Finding, Status
from floe_agents.gather import gather
from floe_agents.probes import _fixes
from floe_agents.probes._http import Answer, call_json, problem, read, under
from floe_agents.probes._models.jaeger import Envelope, Trace
from floe_agents.probes._verdict import Verdict
from floe_agents.registry import probe
from floe_agents.resolve import CannotResolveHereError, ResolveError
from floe_agents.topology import PIPELINE_COMPONENTS

REQUEST_TIMEOUT_S = 2.5
RECENT_S = 3600
SELF_SERVICE = "jaeger-all-in-one"
# Services that are not the platform's: Jaeger tracing itself, and floe-agents' own runs (selftrace's default
# OTEL_SERVICE_NAME), whose spans land in the platform's Jaeger once a run is traced; neither is an emitter sending
# under another name.
NOT_THE_PLATFORM = frozenset({SELF_SERVICE, "floe-agents"})
_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

CODES = {
    "jaeger.unreachable": "fail: query API or OTLP port refused / timed out / unresolvable / TLS mismatch",
    "jaeger.bad_response": "fail: query API answered 5xx, non-JSON, truncated or not Jaeger's envelope",
    "jaeger.auth_failed": "fail: query API answered 401/403 (a proxy in front of it)",
    "jaeger.query_ok": "ok: /api/services answered with the services it knows",
    "jaeger.otlp_reachable": "ok: the OTLP/gRPC receiver accepts connections (and an empty Export)",
    "jaeger.otlp_rejected": "fail: the OTLP port is open but does not answer OTLP/gRPC Export",
    "jaeger.expected_service_missing": "fail: platform enables traces, its service.name never reached Jaeger",
    "jaeger.no_recent_traces": "warn: the service is known but has no trace in the last hour",
    "jaeger.service_name_mismatch": "warn: traces arrive, under other service names than platform.yaml's",
    "jaeger.traces_present": "ok: the configured service has recent traces",
    "jaeger.traces_disabled": "ok: platform.yaml turns traces off, nothing to expect",
    "jaeger.service_unknown": "unknown: no platform.yaml / service.name, so no expected service to look for",
}


async def _get_json(ctx: ProbeContext, url: httpx.URL) -> Answer:
    return await call_json(ctx, "GET", url, timeout_s=REQUEST_TIMEOUT_S)


def _problem(answer: Answer, what: str) -> Verdict:
    return problem(answer, area="jaeger", what=what, expected="not_jaeger_envelope")


def _export_empty(target: str, secure: bool) -> str:
    """One empty OTLP Export over gRPC; returns the gRPC status name (OK when the receiver speaks OTLP)."""
    import grpc  # noqa: PLC0415 - optional: the in-cluster image may ship without grpcio

    creds = grpc.ssl_channel_credentials() if secure else None
    with grpc.secure_channel(target, creds) if creds else grpc.insecure_channel(target) as channel:
        call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(_EXPORT)
        try:
            call(b"", timeout=REQUEST_TIMEOUT_S)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            details = exc.details() if hasattr(exc, "details") else str(exc)
            return f"{getattr(code, 'name', 'UNKNOWN')}: {details}"
    return "OK"


def _tcp_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ResolveError | CannotResolveHereError):
        return "unresolvable"
    cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc  # anyio: "All connection attempts failed"
    if isinstance(cause, ConnectionRefusedError):
        return "refused"
    return errno.errorcode.get(getattr(cause, "errno", None) or 0, type(cause).__name__)


async def _otlp(ctx: ProbeContext, ep: Endpoint) -> list[Finding]:
    subject = f"{ep.host}:{ep.port}"
    evidence: dict[str, object] = {"url": str(ep.url), "endpoint": ep.name}
    if ctx.platform is not None:
        evidence["configured_otlp_endpoint"] = ctx.platform.observability.otlp_endpoint
    address, resolver = ep.host, ctx.resolver(ep.vantage)
    try:
        with anyio.fail_after(REQUEST_TIMEOUT_S):
            if resolver is not None:
                address = (await resolver.resolve(ep.host))[0]
            stream = await anyio.connect_tcp(address, ep.port or 4317)
        await stream.aclose()
    except (ResolveError, CannotResolveHereError, OSError, TimeoutError) as exc:
        reason = _tcp_reason(exc)
        return [
            ctx.finding(
                Status.FAIL,
                "jaeger.unreachable",
                f"OTLP receiver {subject} not reachable: {reason} {exc}".strip(),
                subject=subject,
                evidence={**evidence, "reason": reason, "error": str(exc)},
            )
        ]
    try:
        grpc_status = await anyio.to_thread.run_sync(
            _export_empty, f"{address}:{ep.port}", ep.url.scheme in ("https", "grpcs"), abandon_on_cancel=True
        )
    except ImportError:
        grpc_status = "not checked (grpcio not installed)"
    evidence["grpc_export"] = grpc_status
    if grpc_status.startswith(("OK", "not checked")):
        return [
            ctx.finding(
                Status.OK,
                "jaeger.otlp_reachable",
                f"OTLP receiver {subject} accepts connections ({grpc_status})",
                subject=subject,
                evidence=evidence,
            )
        ]
    return [
        ctx.finding(
            Status.FAIL,
            "jaeger.otlp_rejected",
            f"{subject} is open but an empty OTLP Export failed: {grpc_status}",
            subject=subject,
            evidence=evidence,
        )
    ]


async def _service(ctx: ProbeContext, query: Endpoint, service: str, services: list[str]) -> Finding:
    evidence: dict[str, object] = {"services_seen": services, "configured_service": service}
    evidence[PRODUCED_BY] = list(PIPELINE_COMPONENTS)
    if ctx.platform is not None:
        evidence["configured_otlp_endpoint"] = ctx.platform.observability.otlp_endpoint
    others = [s for s in services if s not in NOT_THE_PLATFORM]
    if service not in services and others:
        arriving = ", ".join(others)
        return ctx.finding(
            Status.WARN,
            "jaeger.service_name_mismatch",
            f"traces arrive as {arriving}, but platform.yaml names the service {service!r}: the emitters send "
            "under another name",
            subject=service,
            evidence={**evidence, "arriving": arriving, "only_jaeger_self": False},
        )
    if service not in services:
        return ctx.finding(
            Status.FAIL,
            "jaeger.expected_service_missing",
            f"platform.yaml enables traces as {service!r} but Jaeger has none (only Jaeger's own service is "
            "listed): the emitters are silent",
            subject=service,
            evidence={**evidence, "only_jaeger_self": True},
        )
    now_us = int(time.time() * 1_000_000)
    params = {"service": service, "limit": "1", "lookback": "1h", "start": str(now_us - RECENT_S * 1_000_000)}
    answer = await _get_json(ctx, under(query.url, "/api/traces").copy_merge_params({**params, "end": str(now_us)}))
    found = read(answer, Envelope[Trace])
    if found is None:
        return _problem(answer, "trace search").finding(ctx)
    if found.data:
        first = found.data[0]
        starts = [s.start_time for s in first.spans or [] if s.start_time is not None]
        evidence["last_trace_age_s"] = round((now_us - max(starts)) / 1e6, 1) if starts else None
        evidence["trace_id"] = first.trace_id
        return ctx.finding(
            Status.OK,
            "jaeger.traces_present",
            f"{service!r} has traces in the last hour",
            subject=service,
            evidence=evidence,
        )
    return ctx.finding(
        Status.WARN,
        "jaeger.no_recent_traces",
        f"{service!r} is known to Jaeger but sent no trace in the last hour",
        subject=service,
        evidence={**evidence, "window_s": RECENT_S},
    )


async def _query(ctx: ProbeContext, ep: Endpoint) -> list[Finding]:
    """The query API's services, and whether the platform's own service is among them with recent traces."""
    answer = await _get_json(ctx, under(ep.url, "/api/services"))
    services = read(answer, Envelope[str])
    if services is None:
        return [_problem(answer, "query API").finding(ctx)]
    seen = sorted(services.data)
    results = [
        ctx.finding(
            Status.OK,
            "jaeger.query_ok",
            f"Jaeger knows {len(seen)} service(s)",
            subject=answer.url,
            evidence={"url": answer.url, "services_seen": seen},
        )
    ]
    obs = ctx.platform.observability if ctx.platform is not None else None
    if obs is not None and not obs.traces:
        summary = "platform.yaml turns traces off"
        return [*results, ctx.finding(Status.OK, "jaeger.traces_disabled", summary, evidence={"services_seen": seen})]
    if obs is None or not obs.service_name:
        why = "no platform.yaml" if obs is None else "platform.yaml sets no observability.attributes.service.name"
        summary = f"cannot tell which service should be tracing: {why}"
        evidence = {"services_seen": seen, "reason": why}
        return [*results, ctx.finding(Status.UNKNOWN, "jaeger.service_unknown", summary, evidence=evidence)]
    return [*results, await _service(ctx, ep, obs.service_name, seen)]


@probe(
    "jaeger",
    components=["jaeger"],
    timeout=10.0,
    description="Jaeger query API, OTLP receiver and traces",
    codes=CODES,
    fixes=_fixes.JAEGER,
)
async def jaeger(ctx: ProbeContext) -> list[Finding]:
    """Query API up, OTLP receiver reachable, the platform's service name present with recent traces."""
    endpoints = {ep.name: ep for ep in ctx.endpoints()}
    if not endpoints:
        return [ctx.finding(Status.UNKNOWN, Code.ENDPOINT_NOT_CONFIGURED, "no Jaeger endpoint for this vantage")]
    calls = [partial(_query, ctx, endpoints["query"])] if "query" in endpoints else []
    if "otlp-grpc" in endpoints:
        calls.append(partial(_otlp, ctx, endpoints["otlp-grpc"]))
    results = [finding for group in await gather(calls) for finding in group]
    return sorted(results, key=lambda f: (f.code, f.subject))
