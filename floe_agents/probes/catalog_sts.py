"""Follow-up: can the catalog really vend storage credentials? AssumeRole where the catalog would call it.

A catalog whose storage config has a ``roleArn`` (and no ``stsUnavailable: true``) calls STS AssumeRole before
every table load or write. When that call fails, all the catalog says is a 422 "Failed to get subscoped
credentials" or a 500 from its S3 client: a Dagster step, the seed Job and the iceberg probe each report "the
catalog refused", and none says why. So when one of those symptoms appears (or the polaris probe notices the
roleArn), this follow-up reads the catalog's storage config, takes the STS endpoint the catalog uses
(``stsEndpoint``, else its own S3 endpoint), checks that its host resolves in the cluster (where the catalog
runs) and tries the same AssumeRole with the platform's keys. Its verdict is the credential-vending root cause,
or a clean bill that lets the analysis look elsewhere.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from floe_agents.config.targets import CLUSTER_VANTAGE
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Severity, Status
from floe_agents.probes._aws import aws_call, make_clients, resolves_from
from floe_agents.probes._catalog import call, catalog_targets, classify, host_of, login, to_our_vantage
from floe_agents.probes._credentials import CATALOG_LOGIN, S3_KEYS
from floe_agents.registry import follow_up
from floe_agents.resolve import CannotResolveHereError

CODES = {
    "sts.not_used": "ok: the catalog vends no STS credentials (no roleArn, or stsUnavailable: true)",
    "sts.assume_role_ok": "ok: AssumeRole of the catalog's roleArn works at the STS endpoint it uses",
    "sts.assume_role_failed": "fail: that endpoint does not resolve in the cluster, or refuses the AssumeRole",
    "sts.unverified": "unknown: the storage config or STS could not be asked (why in evidence)",
}
TRIGGERS = ("polaris.role_without_sts", "iceberg.catalog_storage_failed", "dagster.step_failed_catalog_error")
SESSION = "floe-agents-probe"


def sts_endpoint(storage: dict[str, Any]) -> str:
    """Where the catalog sends AssumeRole: ``stsEndpoint``, else its own S3 endpoint (``endpointInternal``, else
    ``endpoint``), else AWS's regional STS endpoint."""
    for key in ("stsEndpoint", "endpointInternal", "endpoint"):
        value = storage.get(key)
        if isinstance(value, str) and value:
            return value
    return f"https://sts.{storage.get('region') or 'us-east-1'}.amazonaws.com"


async def _assume(ctx: ProbeContext, storage: dict[str, Any], ev: dict[str, Any]) -> tuple[Status, str, str]:
    role, url = str(storage["roleArn"]), sts_endpoint(storage)
    host = host_of(url) or url
    ev.update(role_arn=role, sts_endpoint=url, sts_host=host)
    try:
        why = await resolves_from(ctx, CLUSTER_VANTAGE, host)
    except CannotResolveHereError:
        why, ev["cluster_resolution"] = None, "not observable from here"
    if why is not None:
        ev.update(reason="sts host unresolvable in the cluster", error=why)
        return (
            Status.FAIL,
            "sts.assume_role_failed",
            f"the catalog's STS endpoint {host} does not resolve in the cluster",
        )
    ours = to_our_vantage(ctx, url)
    target = str(ours) if ours is not None else url
    key, secret = ctx.credential("s3_access_key_id"), ctx.credential("s3_secret_access_key")
    region = str(storage.get("region") or ctx.credential("s3_region"))
    clients = make_clients(target, region, key, secret)
    got, err = await aws_call(
        clients, lambda: clients["sts"].assume_role(RoleArn=role, RoleSessionName=SESSION, DurationSeconds=900)
    )
    ev["called"] = target
    if err is None:
        ev["assumed_arn"] = got["AssumedRoleUser"]["Arn"]
        return Status.OK, "sts.assume_role_ok", f"AssumeRole {role} works at {url}"
    ev.update(err)
    if err["kind"] in ("auth", "client"):
        return Status.FAIL, "sts.assume_role_failed", f"STS at {url} refuses AssumeRole {role}: {err['code']}"
    if ours is None and err["kind"] in ("transport", "timeout"):
        ev["reason"] = "sts endpoint not reachable from here, and no targets URL maps it"
        return Status.UNKNOWN, "sts.unverified", f"could not reach the catalog's STS endpoint {url} from here"
    return Status.FAIL, "sts.assume_role_failed", f"AssumeRole {role} at {url} failed: {err['message']}"


@follow_up(
    "catalog_sts",
    on=TRIGGERS,
    statuses=[Status.FAIL, Status.WARN],
    timeout=10.0,
    codes=CODES,
    credentials=(*CATALOG_LOGIN, *S3_KEYS),
)
async def catalog_sts(ctx: ProbeContext, trigger: Finding) -> list[Finding]:
    """Read the catalog's storage config and try its AssumeRole where the catalog would."""
    ctx = ctx.for_component("polaris")  # credential vending is the catalog's, whichever symptom asked
    out: list[Finding] = []
    for cat in catalog_targets(ctx):
        token = await login(ctx, cat)
        ev: dict[str, Any] = {"warehouse": cat.warehouse, "trigger": trigger.code}
        if not isinstance(token, str):
            ev.update(token[2])
            out.append(ctx.finding(Status.UNKNOWN, "sts.unverified", f"cannot read the catalog: {token[1]}",
                                   subject=cat.warehouse, evidence=ev))  # fmt: skip
            continue
        ans = await call(ctx, "GET", cat.management(f"catalogs/{quote(cat.warehouse, safe='')}"), token=token)
        storage = ans.json.get("storageConfigInfo") if isinstance(ans.json, dict) else None
        if ans.status != 200 or not isinstance(storage, dict):
            _, why, extra = classify(ans, f"management API catalog {cat.warehouse}")
            out.append(ctx.finding(Status.UNKNOWN, "sts.unverified", f"storage config unreadable: {why}",
                                   subject=cat.warehouse, evidence={**ev, **extra}))  # fmt: skip
            continue
        if not storage.get("roleArn") or storage.get("stsUnavailable") is True:
            ev.update(role_arn=storage.get("roleArn"), sts_unavailable=storage.get("stsUnavailable"))
            summary = f"catalog {cat.warehouse} vends no STS credentials: AssumeRole is not in its path"
            out.append(ctx.finding(Status.OK, "sts.not_used", summary, subject=cat.warehouse, evidence=ev))
            continue
        status, code, summary = await _assume(ctx, storage, ev)
        severity = Severity.CRITICAL if status is Status.FAIL else None
        out.append(ctx.finding(status, code, summary, subject=cat.warehouse, evidence=ev, severity=severity))
    return out
