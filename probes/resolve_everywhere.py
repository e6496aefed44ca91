"""Follow-up: when a host fails to resolve somewhere, resolve it from every vantage the config knows.

"Resolves here, not there" is the signature of an endpoint mismatch (the seed's S3 blocker): a name that only
exists in cluster DNS, handed to a client outside it, or the reverse. One unresolvable host is a symptom; the
comparison across vantages is what names the cause.
"""

from __future__ import annotations

from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Severity, Status
from floe_agents.registry import follow_up
from floe_agents.resolve import CannotResolveHereError, ResolveError


@follow_up("resolve_everywhere", on=[Code.DNS_UNRESOLVABLE], statuses=[Status.FAIL], timeout=4.0)
async def resolve_everywhere(ctx: ProbeContext, trigger: Finding) -> list[Finding]:
    """Resolve the host of a DNS failure from each declared vantage and compare."""
    host = str(trigger.evidence.get("host") or trigger.subject)
    resolves: dict[str, list[str]] = {}
    fails: dict[str, str] = {}
    unobservable: list[str] = []
    for vantage in ctx.targets.vantages:
        resolver = ctx.resolver(vantage)
        if resolver is None:
            unobservable.append(vantage)
            continue
        try:
            resolves[vantage] = await resolver.resolve(host)
        except CannotResolveHereError:
            unobservable.append(vantage)
        except ResolveError as exc:
            fails[vantage] = str(exc)
    evidence = {
        "host": host,
        "resolves_in": sorted(resolves),
        "fails_in": sorted(fails),
        "not_observable_from_here": sorted(unobservable),
        "addresses": resolves,
        "errors": fails,
    }
    if resolves and fails:
        return [
            ctx.finding(
                Status.FAIL,
                Code.DNS_VANTAGE_MISMATCH,
                f"{host} resolves from {', '.join(sorted(resolves))} but not from {', '.join(sorted(fails))}",
                severity=Severity.HIGH,
                subject=host,
                evidence=evidence,
                vantage="*",
                follow_up_of=trigger.key,
            )
        ]
    if len(fails) > 1:
        return [
            ctx.finding(
                Status.FAIL,
                Code.DNS_UNRESOLVABLE,
                f"{host} resolves from no observable vantage",
                subject=host,
                evidence=evidence,
                vantage="*",
                follow_up_of=trigger.key,
            )
        ]
    return []  # nothing to compare: only our own vantage is observable, and the trigger already says it all
