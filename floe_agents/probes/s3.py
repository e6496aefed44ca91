"""S3: does the object store answer, accept Floe's keys, hold Floe's buckets, and can each vantage address them?

Floe's data, compute logs and pre-aggregations live in S3 (LocalStack, MinIO or AWS), and the seed report's
blocker was an S3 endpoint the catalog could not reach: an AWS SDK without path-style access asks for
``<bucket>.<host>``, a name no custom endpoint's DNS ever has. So besides "answers" (LocalStack's health route
when present), "credentials valid" (STS GetCallerIdentity) and "buckets present" (HeadBucket, path-style), this
probe resolves both addressing styles from every vantage it can observe, and tries the AssumeRole that Polaris
uses to vend credentials. boto3 is blocking, so each call runs in a worker thread (abandoned on cancel) under
botocore's own connect/read timeouts and a single attempt.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping

import anyio
import httpx
from pydantic import ValidationError

from floe_agents.context import Endpoint, ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.gather import gather
from floe_agents.probes import _fixes
from floe_agents.probes._aws import Clients, aws_call, make_clients
from floe_agents.probes._credentials import S3_KEYS
from floe_agents.probes._http import UNREACHABLE, failure_reason, under
from floe_agents.probes._models.aws import AssumeRoleResult, CallerIdentity, LocalStackHealth
from floe_agents.probes._s3_buckets import expected_buckets
from floe_agents.probes._vantages import Resolution, resolve_from
from floe_agents.probes._verdict import Verdict
from floe_agents.registry import probe
from floe_agents.resolve import CannotResolveHereError, is_ip

REQUEST_TIMEOUT_S = 3.0
RESOLVE_TIMEOUT_S = 2.0
DEFAULT_ROLE = "arn:aws:iam::000000000000:role/polaris-storage-role"
Evidence = Mapping[str, object]

CODES = {
    "endpoint.not_configured": "unknown: no S3 api endpoint for this vantage in the targets",
    "s3.unreachable": "fail: no connection / no answer / TLS mismatch; or endpoint host unresolvable at a vantage",
    "s3.unhealthy": "fail: answered with 5xx or garbage, or LocalStack health says s3 is not running",
    "s3.ok": "ok: the endpoint answers (LocalStack health evidence when present)",
    "s3.credentials_missing": "unknown: no access key configured; signed checks skipped",
    "s3.credentials_invalid": "fail: STS GetCallerIdentity rejected the keys",
    "s3.credentials_valid": "ok: caller identity (account, arn)",
    "s3.bucket_missing": "fail: HeadBucket 404",
    "s3.bucket_unreadable": "fail: bucket answers 403/301/other error (evidence status, error code)",
    "s3.bucket_present": "ok",
    "s3.virtual_host_unresolvable": (
        "<bucket>.<host> does not resolve: fail if the platform sets path_style_access false, warn when it "
        "does not say (no platform config); ok (s3.addressing_ok) when it uses path-style"
    ),
    "s3.addressing_ok": "ok: the addressing the vantage needs resolves (evidence per bucket)",
    "s3.role_missing": "warn: the default polaris-storage-role does not exist",
    "s3.assume_role_failed": "fail: STS AssumeRole of the configured (or existing default) role refused",
    "s3.assume_role_ok": "ok",
    "s3.check_failed": "unknown: an API call failed for a reason that says nothing about S3 itself",
}


def _api_endpoint(ctx: ProbeContext, vantage: str | None = None) -> Endpoint | None:
    eps = ctx.endpoints(vantage)
    return next((e for e in eps if e.name == "api"), None) or next(
        (e for e in eps if e.url.scheme in ("http", "https")), None
    )


async def _health(ctx: ProbeContext, ep: Endpoint) -> Verdict:
    """Does the endpoint answer, and does LocalStack's health route (when there is one) say s3 is running?"""
    path = ep.target.health_path or "/_localstack/health"
    url = under(ep.url, path)  # keep a path prefix
    ev: dict[str, object] = {"url": str(url), "endpoint": ep.name}

    def verdict(status: Status, code: str, summary: str) -> Verdict:
        return Verdict(status, code, summary, ev, subject=str(ep.url))

    try:
        response = await ctx.http.get(url, timeout=REQUEST_TIMEOUT_S)
    except httpx.TimeoutException as exc:
        ev.update(reason="timeout", error=type(exc).__name__)
        return verdict(Status.FAIL, "s3.unreachable", f"{ep.url} did not answer within {REQUEST_TIMEOUT_S:g}s")
    except httpx.HTTPError as exc:
        text, reason = f"{type(exc).__name__}: {exc}", failure_reason(exc)
        ev.update(reason=reason, error=text[:300])
        if reason in UNREACHABLE:
            return verdict(Status.FAIL, "s3.unreachable", f"{ep.url} unreachable ({reason}): {exc}")
        return verdict(Status.FAIL, "s3.unhealthy", f"{ep.url} sent a broken answer: {text}")
    ev["status_code"] = response.status_code
    if response.status_code >= 500:
        ev["body"] = response.text[:300]
        return verdict(Status.FAIL, "s3.unhealthy", f"{url} answered HTTP {response.status_code}")
    if response.status_code != 200:
        ev["localstack"] = False  # a 404 (no such route) or 403 (real S3) still proves the endpoint answers
        return verdict(Status.OK, "s3.ok", f"{ep.url} answers (HTTP {response.status_code}, not LocalStack)")
    try:
        health = LocalStackHealth.model_validate(response.json())
    except ValidationError:
        ev["localstack"] = False  # JSON without a services map: some other server
        return verdict(Status.OK, "s3.ok", f"{ep.url} answers")
    except ValueError:
        ev["body"] = response.text[:300]
        return verdict(Status.FAIL, "s3.unhealthy", f"{url} answered 200 with a body that is not JSON")
    ev.update(localstack=True, services=health.services, version=health.version)
    state = str(health.services.get("s3", "absent"))
    if state not in ("running", "available", "initialized"):
        return verdict(Status.FAIL, "s3.unhealthy", f"LocalStack at {ep.url} reports s3 {state}")
    return verdict(Status.OK, "s3.ok", f"{ep.url} answers; LocalStack reports s3 {state}")


async def _credentials(clients: Clients, base: Evidence) -> Verdict:
    ident, err = await aws_call(clients, clients["sts"].get_caller_identity)
    if err is None:
        who = CallerIdentity.model_validate(ident)
        ev = {**base, "account": who.account, "arn": who.arn}
        return Verdict(Status.OK, "s3.credentials_valid", f"credentials accepted as {who.arn}", ev, "credentials")
    if err["kind"] == "auth":
        summary = f"STS rejected the credentials: {err['code']}"
        return Verdict(Status.FAIL, "s3.credentials_invalid", summary, {**base, **err}, "credentials")
    ev = {**base, "call": "GetCallerIdentity", **err}
    summary = f"could not verify the credentials: {err['message']}"
    return Verdict(Status.UNKNOWN, "s3.check_failed", summary, ev, "credentials")


async def _bucket(clients: Clients, bucket: str, base: Evidence) -> Verdict:
    _, err = await aws_call(clients, lambda: clients["s3"].head_bucket(Bucket=bucket))
    ev = {**base, "bucket": bucket, "addressing": "path", **(err or {})}
    if err is None:
        return Verdict(Status.OK, "s3.bucket_present", f"bucket {bucket} exists", ev, bucket)
    if err.get("status") == 404 or err.get("code") in ("404", "NoSuchBucket"):
        return Verdict(Status.FAIL, "s3.bucket_missing", f"bucket {bucket} does not exist", ev, bucket)
    if err["kind"] in ("auth", "client"):
        return Verdict(Status.FAIL, "s3.bucket_unreadable", f"bucket {bucket} answered {err['code']}", ev, bucket)
    return Verdict(Status.UNKNOWN, "s3.check_failed", f"HeadBucket {bucket} failed: {err['message']}", ev, bucket)


async def _role(clients: Clients, arn: str, configured: bool, base: Evidence) -> Verdict:
    """AssumeRole of a configured role; the upstream default role only if it exists (missing is a warn)."""
    ev = {**base, "role_arn": arn, "source": "platform storage credentials" if configured else "upstream default"}
    if not configured:
        _, err = await aws_call(clients, lambda: clients["iam"].get_role(RoleName=arn.rsplit("/", 1)[-1]))
        if err is not None and err.get("code") == "NoSuchEntity":
            return Verdict(Status.WARN, "s3.role_missing", f"role {arn} does not exist", {**ev, **err}, arn)
        if err is not None:
            ev.update(call="GetRole", **err)
            return Verdict(Status.UNKNOWN, "s3.check_failed", f"could not look up {arn}: {err['message']}", ev, arn)
    got, err = await aws_call(
        clients,
        lambda: clients["sts"].assume_role(RoleArn=arn, RoleSessionName="floe-agents-probe", DurationSeconds=900),
    )
    if err is None:
        assumed = AssumeRoleResult.model_validate(got).assumed_role_user.arn
        return Verdict(Status.OK, "s3.assume_role_ok", f"assumed {arn}", {**ev, "assumed_arn": assumed}, arn)
    ev.update(call="AssumeRole", **err)
    if err["kind"] in ("auth", "client"):
        summary = f"AssumeRole {arn} refused: {err['code']} {err['message']}"
        return Verdict(Status.FAIL, "s3.assume_role_failed", summary, ev, arn)
    return Verdict(Status.UNKNOWN, "s3.check_failed", f"AssumeRole {arn} failed: {err['message']}", ev, arn)


def _unresolvable(resolution: Resolution) -> str | None:
    """Why a name does not resolve (None: it does); CannotResolveHereError when that vantage cannot be observed
    (the addressing check of that vantage is then left out rather than reported as a false alarm)."""
    if resolution.outcome == "unobservable":
        raise CannotResolveHereError(resolution.reason)
    if resolution.outcome == "ok":
        return None
    return "resolution timed out" if resolution.timed_out else resolution.reason


async def _addressing(ctx: ProbeContext, ep: Endpoint, buckets: list[str], path_style: dict[str, bool]) -> Verdict:
    """Which addressing resolves from ``ep.vantage``: path-style (the host) and virtual-host (<bucket>.<host>)."""
    host, vantage = ep.host, ep.vantage
    ev: dict[str, object] = {"endpoint": str(ep.url), "host": host, "path_style_access": path_style}

    def verdict(status: Status, code: str, summary: str) -> Verdict:
        return Verdict(status, code, summary, ev, subject="addressing")

    if is_ip(host):
        ev.update(path_style="works", virtual_host="not applicable: SDKs use path-style for IP endpoints")
        return verdict(Status.OK, "s3.addressing_ok", f"{host} is an IP: path-style addressing only")
    why = _unresolvable(await resolve_from(ctx, vantage, host, timeout_s=RESOLVE_TIMEOUT_S))
    if why is not None:
        ev.update(reason="endpoint host unresolvable", error=why)
        return verdict(Status.FAIL, "s3.unreachable", f"{host} does not resolve from {vantage}: no addressing works")
    names = [f"{b}.{host}" for b in buckets]
    seen = await gather(functools.partial(resolve_from, ctx, vantage, n, timeout_s=RESOLVE_TIMEOUT_S) for n in names)
    virtual = {b: _unresolvable(r) for b, r in zip(buckets, seen, strict=True)}
    bad = sorted(b for b, why in virtual.items() if why)
    ev.update(path_style="resolves", virtual_host={b: why or "resolves" for b, why in sorted(virtual.items())})
    if not bad:
        return verdict(Status.OK, "s3.addressing_ok", f"path-style and virtual-host names resolve from {vantage}")
    strict = [b for b in bad if path_style.get(b) is False]
    unknown = [b for b in bad if b not in path_style]
    ev.update(unresolvable=[f"{b}.{host}" for b in bad], path_style_disabled_for=strict)
    if not strict and not unknown:  # every such bucket is configured path-style: virtual-host is never used
        summary = f"path-style resolves from {vantage}; virtual-host names do not, and the platform uses path-style"
        return verdict(Status.OK, "s3.addressing_ok", summary)
    summary = f"virtual-host names ({bad[0]}.{host}, ...) do not resolve from {vantage}: only path-style works"
    if strict:
        summary += f"; the platform disables path-style access for {', '.join(strict)}"
    return verdict(Status.FAIL if strict else Status.WARN, "s3.virtual_host_unresolvable", summary)


async def _signed(ctx: ProbeContext, clients: Clients, key: str | None, base: Evidence, *, buckets: list[str],
                  source: str) -> list[Verdict]:  # fmt: skip
    """Keys, buckets and roles: the calls that need a signature."""
    if not key:
        summary = "no S3 access key configured: credentials, buckets and roles not checked"
        return [Verdict(Status.UNKNOWN, "s3.credentials_missing", summary, subject="credentials")]
    if "error" in clients:
        summary = f"cannot set up an S3 client: {clients['error']}"
        ev = {**base, "error": clients["error"]}
        return [Verdict(Status.UNKNOWN, "s3.check_failed", summary, ev, "credentials")]
    storage = ctx.platform.storage.values() if ctx.platform else []
    roles = sorted({p.credentials.role_arn for p in storage if p.credentials.role_arn})
    # The key check and the calls it vouches for go out together (one round trip, not two); if the keys are
    # refused, every signed call was refused the same way and only the key finding is kept.
    region = ctx.credential("s3_region")
    calls: list[Callable[[], Awaitable[Verdict]]] = [
        functools.partial(_credentials, clients, {**base, "access_key_id": key, "region": region}),
        *(functools.partial(_bucket, clients, bucket, {**base, "expected_from": source}) for bucket in buckets),
        *(functools.partial(_role, clients, arn, bool(roles), base) for arn in roles or [DEFAULT_ROLE]),
    ]
    found = await gather(calls)
    refused = found[0].status is Status.FAIL
    return found[:1] if refused else found


@probe(
    "s3",
    components=["s3"],
    timeout=20.0,
    description="S3 answers, keys valid, buckets present, addressing per vantage, AssumeRole",
    codes=CODES,
    fixes=_fixes.S3,
    credentials=S3_KEYS,
)
async def s3(ctx: ProbeContext) -> list[Finding]:
    ep = _api_endpoint(ctx)
    if ep is None:
        summary = f"no S3 api endpoint for vantage {ctx.vantage} in the targets"
        return [ctx.finding(Status.UNKNOWN, Code.ENDPOINT_NOT_CONFIGURED, summary, subject="api")]
    key, region = ctx.credential("s3_access_key_id"), ctx.credential("s3_region") or ""
    secret = ctx.credential("s3_secret_access_key")
    clients: Clients = {}

    async def prepare() -> None:  # boto3's import and client set-up overlap the health check
        try:
            made = await anyio.to_thread.run_sync(
                make_clients, str(ep.url).rstrip("/"), region, key, secret, abandon_on_cancel=True
            )
        except Exception as exc:  # e.g. an endpoint botocore rejects: reported, not raised
            clients["error"] = f"{type(exc).__name__}: {exc}"
        else:
            clients.update(made)

    async with anyio.create_task_group() as tg:
        if key:
            tg.start_soon(prepare)
        health = await _health(ctx, ep)
        if health.status is not Status.OK:
            tg.cancel_scope.cancel()
    if health.status is not Status.OK:
        return [health.finding(ctx)]
    buckets, path_style, source = expected_buckets(ctx.platform)
    base = {"endpoint": str(ep.url)}

    async def signed() -> list[Finding]:
        return [v.finding(ctx) for v in await _signed(ctx, clients, key, base, buckets=buckets, source=source)]

    async def addressing(vep: Endpoint) -> list[Finding]:
        try:
            return [(await _addressing(ctx, vep, buckets, path_style)).finding(ctx, vantage=vep.vantage)]
        except CannotResolveHereError:
            return []  # that vantage's DNS cannot be observed from here: no finding rather than a false alarm

    veps = [vep for vep in (_api_endpoint(ctx, v) for v in ctx.targets.vantages) if vep is not None]
    calls: list[Callable[[], Awaitable[list[Finding]]]] = [signed]
    calls += [functools.partial(addressing, vep) for vep in veps]
    found = await gather(calls)
    out = [health.finding(ctx), *(f for fs in found for f in fs)]
    return sorted(out, key=lambda f: (f.subject, f.vantage))
