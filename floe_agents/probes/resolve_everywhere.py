"""Follow-up: when a host fails to resolve somewhere, resolve it from every vantage the config knows.

"Resolves here, not there" is the signature of an endpoint mismatch (the seed's S3 blocker): a name that only
exists in cluster DNS, handed to a client outside it, or the reverse. One unresolvable host is a symptom; the
comparison across vantages is what names the cause. Besides a DNS failure, two findings name a host that may not
resolve where it is used: a Dagster step that failed on an unknown host, and a catalog whose storage endpoint
differs from platform.yaml's; both trigger the same comparison for that host.
"""

from __future__ import annotations

from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Severity, Status
from floe_agents.probes._vantages import resolve_everywhere as resolve_everywhere_from
from floe_agents.registry import engine_codes, follow_up

TRIGGERS = (Code.DNS_UNRESOLVABLE, "dagster.step_failed_unknown_host", "polaris.storage_endpoint_mismatch")


def host_of_trigger(trigger: Finding) -> str | None:
    """The host a triggering finding names: ``host`` (dns, dagster steps), ``storage_host`` (the catalog)."""
    for key in ("host", "storage_host"):
        value = trigger.evidence.get(key)
        if isinstance(value, str) and value:
            return value
    return trigger.subject if trigger.code == Code.DNS_UNRESOLVABLE and trigger.subject else None


@follow_up(
    "resolve_everywhere",
    on=TRIGGERS,
    statuses=[Status.FAIL],
    timeout=4.0,
    codes=engine_codes(Code.DNS_VANTAGE_MISMATCH, Code.DNS_UNRESOLVABLE),
)
async def resolve_everywhere(ctx: ProbeContext, trigger: Finding) -> list[Finding]:
    """Resolve the host a finding names from each declared vantage and compare."""
    host = host_of_trigger(trigger)
    if host is None:
        return []  # the trigger names no host (e.g. an AWS default endpoint): nothing to compare
    seen = await resolve_everywhere_from(ctx, host)
    resolves = {r.vantage: list(r.addresses) for r in seen if r.outcome == "ok"}
    fails = {r.vantage: r.reason for r in seen if r.outcome == "fail"}
    unobservable = [r.vantage for r in seen if r.outcome == "unobservable"]
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
