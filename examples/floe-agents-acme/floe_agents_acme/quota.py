"""ACME ingest API: is there quota left for the pipeline's next load?

A Floe pipeline that loads from the ACME API fails mid-run once the account's daily quota is used up, and that
failure surfaces as a Dagster step error far from its cause. Asking the API itself lets the report name the quota
as the root cause (rule ``acme-quota-exhausted`` in ``rules/acme.yaml``), before or after the run breaks.
"""

from __future__ import annotations

import functools

from pydantic import BaseModel, ConfigDict

from floe_agents.toolkit import (
    Credential,
    Endpoint,
    Finding,
    ProbeContext,
    Status,
    call_json,
    gather,
    probe,
    read,
    under,
)

# Every code this probe can emit -> what it means. `floe-agents probes` lists them; rules may only name these.
CODES = {
    "acme.quota_ok": "ok: the account has quota left for today",
    "acme.quota_low": "warn: less than a tenth of the daily quota is left",
    "acme.quota_exhausted": "fail: the daily quota is used up; the API refuses loads until it resets",
    "acme.unreachable": "fail: no answer from the API (refused, timed out, TLS, unresolvable)",
    "acme.auth_failed": "fail: the API refused the token, or none is configured",
    "acme.bad_answer": "fail: the API answered, but not with a quota",
}
REQUEST_TIMEOUT_S = 3.0
LOW_SHARE = 0.1


class Quota(BaseModel):
    """The part of the API's ``GET /v1/quota`` answer this probe reads (parsed once, at the edge)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    account: str
    used: int
    limit: int
    resets_at: str = ""


async def _check(ctx: ProbeContext, ep: Endpoint, token: str | None) -> Finding:
    answer = await call_json(ctx, "GET", under(ep.url, "/v1/quota"), timeout_s=REQUEST_TIMEOUT_S, token=token)
    evidence: dict[str, object] = {"url": answer.url, "endpoint": ep.name, "status_code": answer.status}
    if answer.unreachable:
        summary = f"{answer.url}: no answer ({answer.reason}: {answer.detail})"
        evidence["reason"] = answer.reason
        return ctx.finding(Status.FAIL, "acme.unreachable", summary, subject=answer.url, evidence=evidence)
    if answer.reason == "auth":
        summary = f"{answer.url} refused " + ("the token" if token else "us: no token is configured (ACME_TOKEN)")
        evidence["token_configured"] = bool(token)
        return ctx.finding(Status.FAIL, "acme.auth_failed", summary, subject=answer.url, evidence=evidence)
    quota = read(answer, Quota)
    if quota is None:  # an error status, a body that is not JSON, or JSON that is not a quota
        evidence["reason"] = answer.reason or "not_a_quota"
        summary = f"{answer.url} answered, but not with a quota ({evidence['reason']})"
        return ctx.finding(Status.FAIL, "acme.bad_answer", summary, subject=answer.url, evidence=evidence)
    left = quota.limit - quota.used
    evidence |= {"used": quota.used, "limit": quota.limit, "resets_at": quota.resets_at}
    if left <= 0:
        summary = f"account {quota.account} has used its whole daily quota ({quota.used}/{quota.limit})"
        return ctx.finding(Status.FAIL, "acme.quota_exhausted", summary, subject=quota.account, evidence=evidence)
    if left < LOW_SHARE * quota.limit:
        summary = f"account {quota.account} has {left} of {quota.limit} requests left today"
        return ctx.finding(Status.WARN, "acme.quota_low", summary, subject=quota.account, evidence=evidence)
    summary = f"account {quota.account}: {left} of {quota.limit} requests left today"
    return ctx.finding(Status.OK, "acme.quota_ok", summary, subject=quota.account, evidence=evidence)


@probe(
    "acme_quota",
    components=("acme",),
    timeout=REQUEST_TIMEOUT_S + 1.0,
    codes=CODES,
    credentials=(Credential("acme_token", env="ACME_TOKEN", description="API token that may read the quota"),),
    public_evidence=("token_configured",),  # a yes/no about the token, never the token: not masked
)
async def acme_quota(ctx: ProbeContext) -> list[Finding]:
    """Ask the ACME API how much of the account's daily quota is left."""
    token = ctx.credential("acme_token")
    return await gather(functools.partial(_check, ctx, ep, token) for ep in ctx.endpoints())
