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

from urllib.parse import quote

from floe_agents.config.targets import CLUSTER_VANTAGE
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Severity, Status
from floe_agents.probes._aws import aws_call, make_clients
from floe_agents.probes._catalog import (
    REQUEST_TIMEOUT_S,
    catalog_problem,
    catalog_targets,
    host_of,
    login,
    to_our_vantage,
)
from floe_agents.probes._credentials import CATALOG_LOGIN, S3_KEYS
from floe_agents.probes._http import call_json, read
from floe_agents.probes._models.aws import AssumeRoleResult
from floe_agents.probes._models.polaris import ManagementCatalog, StorageConfigInfo
from floe_agents.probes._vantages import resolve_from
from floe_agents.probes._verdict import Verdict
from floe_agents.registry import follow_up

CODES = {
    "sts.not_used": "ok: the catalog vends no STS credentials (no roleArn, or stsUnavailable: true)",
    "sts.assume_role_ok": "ok: AssumeRole of the catalog's roleArn works at the STS endpoint it uses",
    "sts.assume_role_failed": "fail: that endpoint does not resolve in the cluster, or refuses the AssumeRole",
    "sts.unverified": "unknown: the storage config or STS could not be asked (why in evidence)",
}
TRIGGERS = ("polaris.role_without_sts", "iceberg.catalog_storage_failed", "dagster.step_failed_catalog_error")
SESSION = "floe-agents-probe"


RESOLVE_TIMEOUT_S = 2.0


async def _assume(ctx: ProbeContext, storage: StorageConfigInfo, ev: dict[str, object]) -> Verdict:
    """Resolve the STS host in the cluster, then AssumeRole there as the catalog would (``ev`` grows the facts)."""
    role, url = str(storage.role_arn), storage.sts_url()
    host = host_of(url) or url
    ev.update(role_arn=role, sts_endpoint=url, sts_host=host)
    found = await resolve_from(ctx, CLUSTER_VANTAGE, host, timeout_s=RESOLVE_TIMEOUT_S)
    if found.outcome == "unobservable":
        ev["cluster_resolution"] = "not observable from here"
    elif found.outcome == "fail":
        ev.update(
            reason="sts host unresolvable in the cluster",
            error="resolution timed out" if found.timed_out else found.reason,
        )
        return _failed(f"the catalog's STS endpoint {host} does not resolve in the cluster", ev)
    ours = to_our_vantage(ctx, url)
    target = str(ours) if ours is not None else url
    key, secret = ctx.credential("s3_access_key_id"), ctx.credential("s3_secret_access_key")
    region = str(storage.region or ctx.credential("s3_region"))
    clients = make_clients(target, region, key, secret)
    got, err = await aws_call(
        clients, lambda: clients["sts"].assume_role(RoleArn=role, RoleSessionName=SESSION, DurationSeconds=900)
    )
    ev["called"] = target
    if err is None:
        ev["assumed_arn"] = AssumeRoleResult.model_validate(got).assumed_role_user.arn
        return Verdict(Status.OK, "sts.assume_role_ok", f"AssumeRole {role} works at {url}", ev)
    ev.update(err)
    if err["kind"] in ("auth", "client"):
        return _failed(f"STS at {url} refuses AssumeRole {role}: {err['code']}", ev)
    if ours is None and err["kind"] in ("transport", "timeout"):
        ev["reason"] = "sts endpoint not reachable from here, and no targets URL maps it"
        return Verdict(
            Status.UNKNOWN, "sts.unverified", f"could not reach the catalog's STS endpoint {url} from here", ev
        )
    return _failed(f"AssumeRole {role} at {url} failed: {err['message']}", ev)


def _failed(summary: str, ev: dict[str, object]) -> Verdict:
    return Verdict(Status.FAIL, "sts.assume_role_failed", summary, ev, severity=Severity.CRITICAL)


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
        ev: dict[str, object] = {"warehouse": cat.warehouse, "trigger": trigger.code}
        if not isinstance(token, str):
            summary = f"cannot read the catalog: {token.summary}"
            evidence = {**ev, **token.evidence}
            out.append(ctx.finding(Status.UNKNOWN, "sts.unverified", summary, subject=cat.warehouse, evidence=evidence))
            continue
        url = cat.management(f"catalogs/{quote(cat.warehouse, safe='')}")
        ans = await call_json(ctx, "GET", url, timeout_s=REQUEST_TIMEOUT_S, bounded=True, token=token)
        catalog = read(ans, ManagementCatalog) if ans.status == 200 else None
        if catalog is None:
            unread = catalog_problem(ans, f"management API catalog {cat.warehouse}", ev)
            summary = f"storage config unreadable: {unread.summary}"
            out.append(
                ctx.finding(Status.UNKNOWN, "sts.unverified", summary, subject=cat.warehouse, evidence=unread.evidence)
            )
            continue
        storage = catalog.storage_config_info
        if not storage.role_arn or storage.sts_unavailable is True:
            ev.update(role_arn=storage.role_arn, sts_unavailable=storage.sts_unavailable)
            summary = f"catalog {cat.warehouse} vends no STS credentials: AssumeRole is not in its path"
            out.append(ctx.finding(Status.OK, "sts.not_used", summary, subject=cat.warehouse, evidence=ev))
            continue
        out.append((await _assume(ctx, storage, ev)).finding(ctx, subject=cat.warehouse))
    return out
