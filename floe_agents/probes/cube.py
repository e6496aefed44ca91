"""Cube: is the semantic layer ready, does it accept the platform's API secret, and do its cubes' tables exist?

Cube keeps ``/livez`` up while ``/readyz`` answers ``500 {"health":"DOWN"}`` when its data source is unreachable,
so the two are judged separately. ``/cubejs-api/v1/meta`` is called the way a client does, with an HS256 JWT
signed by the API secret (PyJWT), so a 403 means
the deployed secret is not the one we were given. Meta is compiled without touching the data, so a cube over a
missing table looks healthy until someone queries it; each cube's source table (``sqlTable`` from
``?extended=true``) is therefore looked up in the Iceberg catalog (:mod:`probes._cube_tables`).
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Awaitable, Callable
from functools import partial

import httpx

from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.gather import gather
from floe_agents.probes import _fixes
from floe_agents.probes._credentials import CATALOG_LOGIN, CUBE_SECRET
from floe_agents.probes._cube_tables import OpenCatalog, open_catalogs, source_findings
from floe_agents.probes._http import BROKEN, UNREACHABLE, Answer, call_json, read, under
from floe_agents.probes._models.cube import CubeHealth, CubeMeta, MetaCube
from floe_agents.registry import probe

REQUEST_TIMEOUT_S = 2.5
META = "/cubejs-api/v1/meta"
_SELECT_STAR = re.compile(r"^\s*select\s+\*\s+from\s+([\w.\"`]+)\s*;?\s*$", re.IGNORECASE)

CODES = {
    "cube.unreachable": "fail: refused / timed out / TLS or protocol error (evidence: url, reason, error)",
    "cube.bad_response": 'fail: meta answered 5xx, non-JSON, truncated or without "cubes"',
    "cube.ready": "ok: /readyz answered 200",
    "cube.not_ready": "fail: /readyz answered non-200 or health DOWN (its data source is unreachable)",
    "cube.live": "ok: /livez answered 200",
    "cube.not_live": "fail: /livez answered non-200",
    "cube.auth_failed": "fail: meta refused a JWT signed with cube_api_secret (401/403): the secrets differ",
    "cube.no_secret": "unknown: no cube_api_secret (targets file or CUBEJS_API_SECRET), meta not checked",
    "cube.meta_ok": "ok: meta lists cubes (names and source tables in evidence)",
    "cube.no_cubes": "warn: meta lists no cube: the data model was not loaded",
    "cube.source_tables_present": "ok: every checkable cube source table exists in the Iceberg catalog",
    "cube.source_table_missing": "warn: a cube's source table is not in the catalog (queries on it will fail)",
    "cube.source_unverifiable": "unknown: the catalog could not be asked (no platform/credentials, error)",
}


async def _get(ctx: ProbeContext, root: httpx.URL, path: str, secret: str | None) -> Answer:
    """GET ``path``; meta (when there is a secret) extended, with a JWT signed by it, as a Cube client asks."""
    url, headers = under(root, path), {}
    if path == META and secret:
        url, headers = url.copy_merge_params({"extended": "true"}), {"Authorization": _jwt(secret)}
    return await call_json(ctx, "GET", url, timeout_s=REQUEST_TIMEOUT_S, headers=headers)


def _jwt(secret: str, ttl_s: int = 300) -> str:
    """An HS256 JWT as Cube's default checkAuth verifies it (the payload becomes the security context)."""
    import jwt  # noqa: PLC0415 - PyJWT and cryptography cost ~40 ms; only a run with a Cube secret signs

    now = int(time.time())
    with warnings.catch_warnings():  # the deployed secret's length is not ours to choose (short ones warn)
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode({"iat": now, "exp": now + ttl_s, "sub": "floe-agents"}, secret, algorithm="HS256")


def _health(ctx: ProbeContext, answer: Answer, path: str) -> Finding:
    good, bad = ("cube.ready", "cube.not_ready") if path == "/readyz" else ("cube.live", "cube.not_live")
    health = read(answer, CubeHealth, errors=True)
    says = health.health if health else None
    evidence = {**answer.evidence(), "body": answer.body}
    if answer.unreachable or answer.reason in BROKEN:
        code = "cube.unreachable" if answer.unreachable else "cube.bad_response"
        status, summary = Status.FAIL, f"Cube {path}: {answer.detail}"
    elif answer.reason or str(says).upper() == "DOWN":
        status, code = Status.FAIL, bad
        summary = f"Cube {path} says not ok ({f'health={says}' if says else f'HTTP {answer.status}'})"
    else:
        status, code, summary = Status.OK, good, f"Cube {path} answered {answer.status}"
    return ctx.finding(status, code, summary, subject=path, evidence=evidence)


def _meta(ctx: ProbeContext, meta: Answer) -> tuple[Finding, list[str]]:
    """Judge the meta answer; also return the cubes' source tables to look up."""
    parsed = read(meta, CubeMeta)
    evidence = meta.evidence()
    tables: list[str] = []
    if meta.reason == "auth":
        status, code = Status.FAIL, "cube.auth_failed"
        summary = f"Cube refused a token signed with cube_api_secret ({meta.status}): the deployed secret differs"
        evidence["body"] = meta.body
    elif parsed is None:
        status, code = Status.FAIL, "cube.unreachable" if meta.unreachable else "cube.bad_response"
        evidence["reason"] = meta.reason or "no_cubes_field"
        summary = f"Cube meta: {evidence['reason']} {meta.detail}".strip()
    elif not parsed.cubes:
        status, code, summary = Status.WARN, "cube.no_cubes", "Cube meta lists no cubes: the data model is not loaded"
    else:
        sources = {str(c.name): _source_table(c) for c in parsed.cubes}
        status, code, summary = Status.OK, "cube.meta_ok", f"Cube meta lists {len(sources)} cube(s)"
        evidence.update(cubes=sorted(sources), source_tables=sources)
        tables = sorted({t for t in sources.values() if t})
    return ctx.finding(status, code, summary, subject=META, evidence=evidence), tables


def _source_table(cube: MetaCube) -> str | None:
    table = cube.sqlTable or cube.sql_table
    if not table and cube.sql:
        match = _SELECT_STAR.match(cube.sql)
        table = match.group(1) if match else None
    return table.replace('"', "").replace("`", "") if table else None


@probe(
    "cube",
    components=["cube"],
    timeout=14.0,
    description="Cube readiness, API secret, cubes and their tables",
    codes=CODES,
    fixes=_fixes.CUBE,
    credentials=(*CUBE_SECRET, *CATALOG_LOGIN),
)
async def cube(ctx: ProbeContext) -> list[Finding]:
    """/readyz and /livez, meta with a JWT signed by the API secret, each cube's source table in the catalog."""
    api = next((ep for ep in ctx.endpoints() if ep.name == "api"), None)
    if api is None:
        return [ctx.finding(Status.UNKNOWN, Code.ENDPOINT_NOT_CONFIGURED, "no Cube api endpoint for this vantage")]
    secret = ctx.credential("cube_api_secret")
    root = api.url.copy_with(query=None)
    paths = ["/readyz", "/livez"] + ([META] if secret else [])
    calls: list[Callable[[], Awaitable[Answer | dict[str, OpenCatalog]]]] = [
        *(partial(_get, ctx, root, path, secret) for path in paths),
        *([partial(open_catalogs, ctx)] if secret else []),  # the logins do not wait for meta
    ]
    got = await gather(calls)
    answers = dict(zip(paths, [a for a in got if isinstance(a, Answer)], strict=True))
    catalogs = next((c for c in got if isinstance(c, dict)), {})
    reasons = {a.reason for a in answers.values()}
    if len(reasons) == 1 and reasons <= UNREACHABLE | BROKEN:  # one cause, one finding
        first = answers["/readyz"]
        code = "cube.unreachable" if first.unreachable else "cube.bad_response"
        evidence = {**first.evidence(), "url": str(root)}
        return [ctx.finding(Status.FAIL, code, f"Cube {root}: {first.detail}", subject=str(root), evidence=evidence)]
    results = [_health(ctx, answers["/readyz"], "/readyz"), _health(ctx, answers["/livez"], "/livez")]
    if not secret:
        summary = "no cube_api_secret (targets file or CUBEJS_API_SECRET): meta not checked"
        results.append(
            ctx.finding(Status.UNKNOWN, "cube.no_secret", summary, subject=META, evidence={"reason": "no credential"})
        )
        return results
    meta, tables = _meta(ctx, answers[META])
    results.append(meta)
    if tables:
        results += await source_findings(ctx, tables, catalogs)
    elif meta.code == "cube.meta_ok":
        summary = "Cube meta names no source table (this Cube may not expose sql_table, cube-js/cube#8711)"
        evidence = {"cubes": meta.evidence["cubes"], "reason": "no sqlTable in meta"}
        results.append(
            ctx.finding(Status.UNKNOWN, "cube.source_unverifiable", summary, subject=META, evidence=evidence)
        )
    return sorted(results, key=lambda f: (f.code, f.subject))
