"""TCP: does each endpoint of our own vantage accept a connection?

Distinguishes refused (nothing listening: pod down, wrong port) from timed out (black-holed: firewall, wrong IP)
from unreachable (no route, unresolvable). Endpoints are tried concurrently, each under its own connect timeout,
so one black-holed endpoint costs one timeout, not one per endpoint.
"""

from __future__ import annotations

import errno
import functools

import anyio

from floe_agents.context import Endpoint, ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.gather import gather
from floe_agents.probes._vantages import resolve_from
from floe_agents.registry import engine_codes, probe

CONNECT_TIMEOUT_S = 2.0


def _root_os_error(exc: OSError) -> OSError:
    """anyio wraps per-address failures in 'All connection attempts failed'; the cause says what happened."""
    cause = exc.__cause__
    return cause if isinstance(cause, OSError) else exc


async def _check(ctx: ProbeContext, ep: Endpoint) -> Finding:
    port = ep.port
    evidence: dict[str, object] = {"host": ep.host, "port": port, "endpoint": ep.name, "url": str(ep.url)}
    subject = f"{ep.host}:{port}"
    if port is None:
        return ctx.finding(
            Status.UNKNOWN, Code.ENDPOINT_NOT_CONFIGURED, f"{ep.url} has no port", subject=subject, evidence=evidence
        )
    resolution = await resolve_from(ctx, ep.vantage, ep.host)
    address = resolution.addresses[0] if resolution.addresses else ep.host
    if resolution.has_resolver and resolution.outcome != "ok":
        return ctx.finding(
            Status.FAIL,
            Code.TCP_UNREACHABLE,
            f"cannot connect to {subject}: {resolution.reason}",
            subject=subject,
            evidence={**evidence, "reason": "unresolvable"},
        )
    evidence["address"] = address
    with anyio.move_on_after(CONNECT_TIMEOUT_S):
        try:
            stream = await anyio.connect_tcp(address, port)
        except OSError as exc:
            cause = _root_os_error(exc)
            if isinstance(cause, ConnectionRefusedError):
                return ctx.finding(
                    Status.FAIL,
                    Code.TCP_REFUSED,
                    f"{subject} refused the connection (nothing listening)",
                    subject=subject,
                    evidence=evidence,
                )
            reason = errno.errorcode.get(cause.errno or 0, type(cause).__name__)
            return ctx.finding(
                Status.FAIL,
                Code.TCP_UNREACHABLE,
                f"{subject} unreachable: {exc}",
                subject=subject,
                evidence={**evidence, "reason": reason},
            )
        await stream.aclose()
        return ctx.finding(
            Status.OK, Code.TCP_OPEN, f"{subject} accepts connections", subject=subject, evidence=evidence
        )
    return ctx.finding(
        Status.FAIL,
        Code.TCP_TIMEOUT,
        f"{subject} did not accept a connection within {CONNECT_TIMEOUT_S:g}s (black-holed?)",
        subject=subject,
        evidence={**evidence, "timeout_s": CONNECT_TIMEOUT_S},
    )


@probe(
    "tcp",
    timeout=CONNECT_TIMEOUT_S + 1.0,
    description="Connect to every endpoint from our own vantage",
    codes=engine_codes(
        Code.TCP_OPEN, Code.TCP_REFUSED, Code.TCP_TIMEOUT, Code.TCP_UNREACHABLE, Code.ENDPOINT_NOT_CONFIGURED
    ),
)
async def tcp(ctx: ProbeContext) -> list[Finding]:
    results = await gather(functools.partial(_check, ctx, ep) for ep in ctx.endpoints())
    return sorted(results, key=lambda f: f.subject)
