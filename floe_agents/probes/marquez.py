"""Marquez: is lineage arriving where the platform sends it, under the namespace the pipeline uses?

Upstream lineage failures are silent (the OpenLineage client only logs a warning), so Marquez being up proves
nothing. What shows the seed report's fault is an API that answers but holds no jobs for the pipeline's
namespace. A namespace that is missing while *other* namespaces have jobs is a different cause (events arrive
under another name) and gets its own code. The platform's ``lineage_endpoint`` is checked by path: it must end in
``/api/v1/lineage`` and that path must exist on our Marquez, which we test by POSTing an *empty* body (Marquez
answers 400/422 for it, 404 for a wrong path) — a real event is never written.
"""

from __future__ import annotations

from functools import partial
from urllib.parse import quote

import httpx

from floe_agents.context import Endpoint, ProbeContext
from floe_agents.findings import PRODUCED_BY, Code, Finding, Status
from floe_agents.gather import gather
from floe_agents.probes import _fixes
from floe_agents.probes._http import Answer, call_json, problem, read, under
from floe_agents.probes._lineage_namespace import pipeline_namespace
from floe_agents.probes._models.marquez import Datasets, Jobs, Namespaces
from floe_agents.probes._verdict import Verdict
from floe_agents.registry import probe
from floe_agents.topology import PIPELINE_COMPONENTS

REQUEST_TIMEOUT_S = 2.5
LINEAGE_PATH = "/api/v1/lineage"
MAX_OTHER_NAMESPACES = 20

CODES = {
    "marquez.unreachable": "fail: API refused / timed out / TLS mismatch",
    "marquez.bad_response": "fail: API answered 5xx, non-JSON, truncated or an unexpected shape",
    "marquez.auth_failed": "fail: API answered 401/403",
    "marquez.api_ok": "ok: /api/v1/namespaces answered",
    "marquez.namespace_missing": "fail: the pipeline's namespace is absent while other namespaces have jobs",
    "marquez.no_jobs": "fail (warn without platform.yaml): no lineage job at all for the pipeline's namespace",
    "marquez.jobs_present": "ok: the namespace has jobs (datasets and latest runs in evidence)",
    "marquez.lineage_path_wrong": "fail: lineage_endpoint does not end in /api/v1/lineage or its path is a 404",
    "marquez.lineage_path_ok": "ok: the lineage path exists (an empty POST is refused as invalid, not 404)",
    "marquez.lineage_not_configured": "warn: platform.yaml enables lineage but names no lineage_endpoint",
    "marquez.lineage_disabled": "ok: platform.yaml turns lineage off, no jobs to expect",
}


async def _call(
    ctx: ProbeContext,
    method: str,
    url: httpx.URL,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> Answer:
    return await call_json(ctx, method, url, timeout_s=REQUEST_TIMEOUT_S, headers=headers, content=content)


def _problem(answer: Answer, what: str, expected: str = "") -> Verdict:
    """The standard failure; a 2xx JSON answer without the field Marquez always sends is ``no_<field>_field``."""
    return problem(answer, area="marquez", what=what, expected=f"no_{expected}_field")


async def _jobs(ctx: ProbeContext, api: Endpoint, ns: str, limit: int = 100) -> tuple[Answer, Jobs | None]:
    path = f"/api/v1/namespaces/{quote(ns, safe='')}/jobs"
    answer = await _call(ctx, "GET", under(api.url, path).copy_merge_params({"limit": limit}))
    return answer, read(answer, Jobs)


async def _job_count(ctx: ProbeContext, api: Endpoint, ns: str) -> int | None:
    """How many jobs ``ns`` holds, or None when it lists none (or they cannot be listed)."""
    _, listed = await _jobs(ctx, api, ns, limit=1)
    return listed.total(listed.jobs) if listed and listed.jobs else None


async def _namespace(ctx: ProbeContext, api: Endpoint, ns: str, names: list[str], strict: bool) -> Finding:
    evidence: dict[str, object] = {"namespace": ns, "namespaces_seen": names, PRODUCED_BY: list(PIPELINE_COMPONENTS)}
    if ns in names:
        answer, listed = await _jobs(ctx, api, ns)
        if listed is None:
            return _problem(answer, "jobs of", "jobs").finding(ctx)
        jobs = listed.jobs
        counted = await _call(ctx, "GET", under(api.url, f"/api/v1/namespaces/{quote(ns, safe='')}/datasets"))
        datasets = read(counted, Datasets)
        evidence["datasets_in_namespace"] = None if datasets is None else datasets.total(datasets.datasets)
        evidence["job_count"] = listed.total(jobs)
        if not jobs:
            status = Status.FAIL if strict else Status.WARN
            return ctx.finding(
                status,
                "marquez.no_jobs",
                f"Marquez namespace {ns!r} exists but holds no lineage job",
                subject=ns,
                evidence={**evidence, "namespace_exists": True},
            )
        runs = {j.name: j.latest_run.state if j.latest_run else None for j in jobs[:20]}
        evidence.update(jobs=sorted(str(n) for n in runs)[:20], latest_run_states=runs)
        evidence["job_datasets"] = sorted(
            {f"{d.namespace}:{d.name}" for j in jobs for d in (j.inputs or []) + (j.outputs or [])}
        )[:20]
        return ctx.finding(
            Status.OK,
            "marquez.jobs_present",
            f"Marquez namespace {ns!r} has {len(jobs)} job(s)",
            subject=ns,
            evidence=evidence,
        )
    with_jobs = await _with_jobs(ctx, api, names)
    evidence.update(namespace_exists=False, namespaces_with_jobs=dict(sorted(with_jobs.items())))
    if with_jobs:
        return ctx.finding(
            Status.FAIL,
            "marquez.namespace_missing",
            f"no Marquez namespace {ns!r}, but lineage arrives under {', '.join(sorted(with_jobs))}",
            subject=ns,
            evidence=evidence,
        )
    status = Status.FAIL if strict else Status.WARN
    return ctx.finding(
        status,
        "marquez.no_jobs",
        f"no lineage has reached Marquez: no namespace {ns!r}, no jobs at all",
        subject=ns,
        evidence=evidence,
    )


async def _with_jobs(ctx: ProbeContext, api: Endpoint, names: list[str]) -> dict[str, int]:
    """The namespaces (of the first ones listed) that hold jobs, with how many."""
    others = names[:MAX_OTHER_NAMESPACES]
    counts = await gather(partial(_job_count, ctx, api, other) for other in others)
    return {other: count for other, count in zip(others, counts, strict=True) if count is not None}


async def _any_namespace(ctx: ProbeContext, api: Endpoint, names: list[str], strict: bool) -> Finding:
    """Nothing says which namespace is the pipeline's (no platform.yaml attribute, no user code readable in the
    cluster): lineage arriving under any namespace is the pipeline's, rather than a name guessed for it."""
    with_jobs = await _with_jobs(ctx, api, names)
    evidence: dict[str, object] = {"namespace": None, "namespaces_seen": names, PRODUCED_BY: list(PIPELINE_COMPONENTS),
                                   "namespaces_with_jobs": dict(sorted(with_jobs.items()))}  # fmt: skip
    if with_jobs:
        arrives = ", ".join(sorted(with_jobs))
        summary = (f"lineage arrives under {arrives} (which namespace is the pipeline's is not said: no "
                   "openlineage.namespace in platform.yaml, no user code read from the cluster)")  # fmt: skip
        return ctx.finding(Status.OK, "marquez.jobs_present", summary, subject="*", evidence=evidence)
    status = Status.FAIL if strict else Status.WARN
    summary = "no lineage has reached Marquez: no namespace holds a job"
    return ctx.finding(status, "marquez.no_jobs", summary, subject="*", evidence=evidence)


def suggested_lineage_url(configured: str) -> str:
    """The lineage URL ``configured`` most likely meant: its origin, any prefix before ``/api/v1``, then the
    lineage API path (``http://m:5000`` and ``http://m:5000/api/v1`` both mean ``http://m:5000/api/v1/lineage``)."""
    url = httpx.URL(configured)
    prefix = url.path.split("/api/v1", 1)[0] if "/api/v1" in url.path else ""
    return str(url.copy_with(path=prefix.rstrip("/") + LINEAGE_PATH, query=None, fragment=None))


async def _lineage_path(ctx: ProbeContext, api: Endpoint, configured: str) -> Finding:
    path = httpx.URL(configured).path or "/"
    target = api.url.copy_with(path=path, query=None)
    evidence: dict[str, object] = {
        "lineage_endpoint": configured,
        "path": path,
        "expected_suffix": LINEAGE_PATH,
        "posted_to": str(target),
        "suggested": suggested_lineage_url(configured),
    }
    suffix_ok = path.rstrip("/").endswith(LINEAGE_PATH)
    answer = await _call(ctx, "POST", target, content=b"", headers={"Content-Type": "application/json"})
    evidence.update(status_code=answer.status, answer=answer.detail or None)
    if answer.transport_error:
        return _problem(answer, "lineage endpoint").finding(ctx)
    if answer.status in (404, 405) or not suffix_ok:
        why = f"{answer.status} for POST {path}" if answer.status in (404, 405) else f"does not end in {LINEAGE_PATH}"
        return ctx.finding(
            Status.FAIL,
            "marquez.lineage_path_wrong",
            f"lineage_endpoint path {path!r} {why}",
            subject=path,
            evidence=evidence,
        )
    if answer.status is not None and (answer.status < 300 or answer.status in (400, 415, 422)):
        return ctx.finding(
            Status.OK,
            "marquez.lineage_path_ok",
            f"{path} exists (an empty POST answered {answer.status})",
            subject=path,
            evidence=evidence,
        )
    return _problem(answer, "lineage endpoint").finding(ctx)


@probe(
    "marquez",
    components=["marquez"],
    timeout=12.0,
    description="Marquez API, namespace jobs and lineage path",
    codes=CODES,
    fixes=_fixes.MARQUEZ,
)
async def marquez(ctx: ProbeContext) -> list[Finding]:
    """API up, the pipeline's namespace holds jobs, the platform's lineage endpoint path exists."""
    api = next((ep for ep in ctx.endpoints() if ep.name == "api"), None)
    if api is None:
        return [ctx.finding(Status.UNKNOWN, Code.ENDPOINT_NOT_CONFIGURED, "no Marquez api endpoint for this vantage")]
    answer = await _call(ctx, "GET", under(api.url, "/api/v1/namespaces").copy_merge_params({"limit": 1000}))
    listed = read(answer, Namespaces)
    if listed is None:
        return [_problem(answer, "namespaces", "namespaces").finding(ctx)]
    names = sorted(str(n.name) for n in listed.namespaces)
    results = [
        ctx.finding(
            Status.OK,
            "marquez.api_ok",
            f"Marquez lists {len(names)} namespace(s)",
            subject=answer.url,
            evidence={"url": answer.url, "namespaces_seen": names},
        )
    ]
    obs = ctx.platform.observability if ctx.platform is not None else None
    if obs is not None and not obs.lineage:
        summary = "platform.yaml turns lineage off"
        return [
            *results,
            ctx.finding(Status.OK, "marquez.lineage_disabled", summary, evidence={"namespaces_seen": names}),
        ]
    ns, strict = await pipeline_namespace(ctx), obs is not None
    expected = (
        partial(_namespace, ctx, api, ns, names, strict) if ns else partial(_any_namespace, ctx, api, names, strict)
    )
    calls = [expected]
    if obs is not None and obs.lineage_endpoint:
        calls.append(partial(_lineage_path, ctx, api, obs.lineage_endpoint))
    elif obs is not None:
        summary = "platform.yaml enables lineage but sets no observability.lineage_endpoint"
        results.append(ctx.finding(Status.WARN, "marquez.lineage_not_configured", summary))
    results += await gather(calls)
    return sorted(results, key=lambda f: (f.code, f.subject))
