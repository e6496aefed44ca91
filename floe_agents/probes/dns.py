"""DNS: does each endpoint's host resolve from every vantage we can observe?

Resolution is the first thing that differs between a laptop and a pod, and an unresolvable host explains every
TCP/HTTP failure behind it, so it gets its own finding (and triggers ``resolve_everywhere``).
"""

from __future__ import annotations

import functools

from floe_agents.context import Endpoint, ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.gather import gather
from floe_agents.probes._vantages import resolve_from
from floe_agents.registry import engine_codes, probe


@probe(
    "dns",
    timeout=3.0,
    retries=1,
    description="Resolve every endpoint host from each vantage",
    codes=engine_codes(Code.DNS_RESOLVED, Code.DNS_UNRESOLVABLE),
)
async def dns(ctx: ProbeContext) -> list[Finding]:
    out: list[Finding] = []
    firsts: dict[tuple[str, str], Endpoint] = {}  # each host once per vantage, as its first endpoint names it
    for ep in ctx.all_endpoints():
        firsts.setdefault((ep.vantage, ep.host), ep)
    eps = list(firsts.values())
    seen = await gather(functools.partial(resolve_from, ctx, ep.vantage, ep.host) for ep in eps)
    for ep, resolution in zip(eps, seen, strict=True):
        evidence = {"host": ep.host, "endpoint": ep.name, "url": str(ep.url)}
        if resolution.outcome == "unobservable":
            continue  # that vantage's DNS cannot be observed from here: no finding rather than a false alarm
        if resolution.outcome == "fail":
            out.append(
                ctx.finding(
                    Status.FAIL,
                    Code.DNS_UNRESOLVABLE,
                    f"{ep.host} does not resolve from vantage {ep.vantage}",
                    subject=ep.host,
                    vantage=ep.vantage,
                    evidence={**evidence, "error": resolution.reason},
                )
            )
        else:
            out.append(
                ctx.finding(
                    Status.OK,
                    Code.DNS_RESOLVED,
                    f"{ep.host} resolves from {ep.vantage}",
                    subject=ep.host,
                    vantage=ep.vantage,
                    evidence={**evidence, "addresses": list(resolution.addresses)},
                )
            )
    return out
