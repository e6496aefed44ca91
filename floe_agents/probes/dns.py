"""DNS: does each endpoint's host resolve from every vantage we can observe?

Resolution is the first thing that differs between a laptop and a pod, and an unresolvable host explains every
TCP/HTTP failure behind it, so it gets its own finding (and triggers ``resolve_everywhere``).
"""

from __future__ import annotations

from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.registry import engine_codes, probe
from floe_agents.resolve import CannotResolveHereError, ResolveError


@probe(
    "dns",
    timeout=3.0,
    retries=1,
    description="Resolve every endpoint host from each vantage",
    codes=engine_codes(Code.DNS_RESOLVED, Code.DNS_UNRESOLVABLE),
)
async def dns(ctx: ProbeContext) -> list[Finding]:
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for ep in ctx.all_endpoints():
        if (ep.vantage, ep.host) in seen:
            continue
        seen.add((ep.vantage, ep.host))
        resolver = ctx.resolver(ep.vantage)
        evidence = {"host": ep.host, "endpoint": ep.name, "url": str(ep.url)}
        if resolver is None:
            continue
        try:
            addresses = await resolver.resolve(ep.host)
        except CannotResolveHereError:
            continue  # that vantage's DNS cannot be observed from here: no finding rather than a false alarm
        except ResolveError as exc:
            out.append(
                ctx.finding(
                    Status.FAIL,
                    Code.DNS_UNRESOLVABLE,
                    f"{ep.host} does not resolve from vantage {ep.vantage}",
                    subject=ep.host,
                    vantage=ep.vantage,
                    evidence={**evidence, "error": str(exc)},
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
                    evidence={**evidence, "addresses": addresses},
                )
            )
    return out
