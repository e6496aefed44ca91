"""HTTP health: does each endpoint's health path answer like a healthy service?

Runs after ``tcp`` and skips endpoints whose port is closed (the TCP finding already says why). Every bad answer
class gets its own code — error status, auth refused, TLS mismatch, timeout, truncated or non-JSON body, or a
JSON body that itself says DOWN — because each points at a different fix. A body past the run's cap
(:data:`~floe_agents.transport.MAX_BODY_BYTES`) is a bad response saying what was cut, and a server that trickles
its answer gets :data:`REQUEST_TIMEOUT_S` (+ :data:`~floe_agents.probes._http.BOUND_SLACK_S`) in all.
"""

from __future__ import annotations

import json
from functools import partial

import anyio
import httpx

from floe_agents.context import Endpoint, ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.gather import gather
from floe_agents.probes._http import BOUND_SLACK_S, failure_reason, printable
from floe_agents.registry import engine_codes, probe

REQUEST_TIMEOUT_S = 3.0
_DOWN_WORDS = frozenset({"down", "unhealthy", "error", "fail", "failed"})


def _body_says_down(body: object) -> str | None:
    if isinstance(body, dict):
        for key in ("status", "health", "state"):
            value = body.get(key)
            if isinstance(value, str) and value.strip().lower() in _DOWN_WORDS:
                return f"{key}={value}"
    return None


async def _check(ctx: ProbeContext, ep: Endpoint) -> Finding:
    path = ep.target.health_path or "/"
    url = ep.url.join(path)
    subject = str(url.copy_with(query=None))
    evidence: dict[str, object] = {"url": subject, "endpoint": ep.name}
    response: httpx.Response | None = None
    with anyio.move_on_after(REQUEST_TIMEOUT_S + BOUND_SLACK_S):
        try:
            response = await ctx.http.get(url, timeout=REQUEST_TIMEOUT_S)
        except httpx.TimeoutException as exc:
            return ctx.finding(
                Status.FAIL,
                Code.HTTP_TIMEOUT,
                f"{subject} did not answer within {REQUEST_TIMEOUT_S:g}s",
                subject=subject,
                evidence={**evidence, "error": type(exc).__name__, "timeout_s": REQUEST_TIMEOUT_S},
            )
        except httpx.HTTPError as exc:
            reason = failure_reason(exc)
            code = Code.HTTP_TLS_ERROR if reason == "tls" else Code.HTTP_BAD_RESPONSE
            what = "TLS handshake failed" if code is Code.HTTP_TLS_ERROR else "bad or no HTTP answer"
            error = printable(f"{type(exc).__name__}: {exc}", 300)
            for key in ("cap", "read"):
                if hasattr(exc, key):  # a body cut at the cap: what was cut
                    evidence[f"{key}_bytes"] = getattr(exc, key)
            return ctx.finding(
                Status.FAIL,
                code,
                f"{subject}: {what} ({error})",
                subject=subject,
                evidence={**evidence, "reason": reason, "error": error},
            )
    if response is None:
        return ctx.finding(
            Status.FAIL,
            Code.HTTP_TIMEOUT,
            f"{subject} did not send a complete answer within {REQUEST_TIMEOUT_S + BOUND_SLACK_S:g}s",
            subject=subject,
            evidence={**evidence, "error": "slow", "timeout_s": REQUEST_TIMEOUT_S + BOUND_SLACK_S},
        )
    evidence["status_code"] = response.status_code
    if response.status_code in (401, 403):
        return ctx.finding(
            Status.FAIL,
            Code.HTTP_AUTH_FAILED,
            f"{subject} refused us ({response.status_code})",
            subject=subject,
            evidence=evidence,
        )
    if response.status_code not in ep.target.expect_status:
        evidence["body"] = printable(response.text, 300)
        return ctx.finding(
            Status.FAIL,
            Code.HTTP_ERROR_STATUS,
            f"{subject} answered HTTP {response.status_code}",
            subject=subject,
            evidence=evidence,
        )
    if "json" in response.headers.get("content-type", ""):
        try:
            body = json.loads(response.content)
        except ValueError:
            evidence["body"] = printable(response.text, 300)
            return ctx.finding(
                Status.FAIL,
                Code.HTTP_BAD_RESPONSE,
                f"{subject} sent a body that is not valid JSON",
                subject=subject,
                evidence=evidence,
            )
        down = _body_says_down(body)
        if down:
            return ctx.finding(
                Status.FAIL,
                Code.HTTP_UNHEALTHY,
                f"{subject} reports itself unhealthy ({down})",
                subject=subject,
                evidence={**evidence, "body": body},
            )
    return ctx.finding(
        Status.OK, Code.HTTP_HEALTHY, f"{subject} answered {response.status_code}", subject=subject, evidence=evidence
    )


@probe(
    "http_health",
    timeout=REQUEST_TIMEOUT_S + 1.0,
    after=("tcp",),
    description="GET each endpoint's health path from our own vantage",
    codes=engine_codes(
        Code.HTTP_HEALTHY,
        Code.HTTP_UNHEALTHY,
        Code.HTTP_ERROR_STATUS,
        Code.HTTP_TIMEOUT,
        Code.HTTP_BAD_RESPONSE,
        Code.HTTP_TLS_ERROR,
        Code.HTTP_AUTH_FAILED,
    ),
)
async def http_health(ctx: ProbeContext) -> list[Finding]:
    closed = {f.subject for f in ctx.prior if f.check == "tcp" and f.status is not Status.OK}
    wanted = [
        ep
        for ep in ctx.endpoints()
        if ep.target.health_path is not None
        and ep.url.scheme in ("http", "https")
        and f"{ep.host}:{ep.port}" not in closed
    ]
    results = await gather(partial(_check, ctx, ep) for ep in wanted)
    return sorted(results, key=lambda f: f.subject)
