"""Dagster runs: did the pipelines' latest runs succeed, and if not, which step failed on what?

A failed run is where every fault below Dagster finally shows: a missing raw table, a missing namespace or
warehouse, a storage host that does not resolve, a catalog answering 422/500, a refused connection. The step's
own error (from the run's event log) says which, and names the table, host or warehouse involved, so each failed
step gets a code for its class of error and those names go into evidence, where root-cause rules and follow-up
probes key on them. Only the latest finished run of each job is judged (older failures are history once a later
run succeeded; their count is in evidence). Runs execute the user code, so findings are the user code's.
Runs after ``dagster`` and skips when that probe found the webserver unreachable or its storage broken.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import httpx
from pydantic import JsonValue

from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.probes._models.dagster import EventConnection, GraphQLError, PythonError, Run, RunsOrError
from floe_agents.probes._models.lenient import JsonObject, dicts_only
from floe_agents.registry import probe

REQUEST_TIMEOUT_S = 3.0
RUN_LIMIT, EVENT_LIMIT = 10, 1000
USER_CODE, WEBSERVER = "dagster-user-code", "dagster-webserver"
FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})

CODES = {
    "dagster.run_succeeded": "the job's latest finished run succeeded",
    "dagster.run_failed": "the job's latest finished run failed (failed steps, tables/hosts/warehouses)",
    "dagster.run_canceled": "the job's latest finished run was canceled",
    "dagster.run_in_progress": "the job has runs, none finished yet: cannot judge it",
    "dagster.no_runs": "no runs recorded at all: pipelines cannot be judged",
    "dagster.runs_unavailable": "the webserver would not list runs (transport or GraphQL error)",
    "dagster.step_failed_missing_warehouse": "catalog: Unable to find warehouse <warehouse>",
    "dagster.step_failed_missing_namespace": "catalog: NoSuchNamespace <namespace>",
    "dagster.step_failed_missing_table": "catalog/dbt: NoSuchTable, Table does not exist <table>",
    "dagster.step_failed_unknown_host": "a host does not resolve (UnknownHostException, Name or service not known)",
    "dagster.step_failed_connection_refused": "nothing listening at <host>:<port>",
    "dagster.step_failed_endpoint_unreachable": "could not connect to <host>:<port> (timeout, no route, unknown)",
    "dagster.step_failed_catalog_error": "the catalog (or another REST server) answered 422/5xx",
    "dagster.step_failed_auth": "refused credentials (401/403, invalid_client)",
    "dagster.step_failed": "any other step error (message in evidence)",
    Code.PROBE_SKIPPED: "unknown: the dagster probe already says the runs cannot be read",
}

RUNS_Q = """{ runsOrError(limit: %d) { __typename
  ... on Runs { results { runId jobName status startTime endTime stepStats { stepKey status } } }
  ... on PythonError { message } ... on InvalidPipelineRunsFilterError { message } } }"""
EVENTS_Q = """fragment E on PythonError { className message errorChain { error { className message } } }
fragment L on EventConnectionOrError { __typename
  ... on EventConnection { hasMore events { __typename
    ... on ExecutionStepFailureEvent { stepKey error { ...E } }
    ... on RunFailureEvent { message error { ...E } } } }
  ... on PythonError { message } ... on RunNotFoundError { message } }"""

_CLASSES = (
    ("missing_warehouse", re.compile(r"Unable to find warehouse|NoSuchWarehouse|Warehouse \S+ (?:does not|not) exist")),
    ("missing_namespace", re.compile(r"NoSuchNamespace|Namespace does not exist")),
    (
        "missing_table",
        re.compile(
            r"NoSuchTable|Table does not exist|Table (?:with name )?\S+ does not exist|"
            r"Table or view not found|[Ss]ource table \S+ (?:does not exist|not found)"
        ),
    ),
    (
        "unknown_host",
        re.compile(
            r"UnknownHost|Name or service not known|Could not resolve host|Failed to resolve|"
            r"Temporary failure in name resolution|nodename nor servname|NameResolutionError|"
            r"getaddrinfo failed|No address associated with hostname"
        ),
    ),
    ("connection_refused", re.compile(r"Connection refused|ConnectionRefusedError|\[Errno 111\]")),
    (
        "endpoint_unreachable",
        re.compile(
            r"Could not connect to the endpoint URL|ConnectTimeout|Connection timed out|No route to host|"
            r"Network is unreachable|Max retries exceeded|EndpointConnectionError"
        ),
    ),
    (
        "catalog_error",
        re.compile(
            r"\b(?:422|50\d) (?:Client |Server )?Error|ServerError|ServiceFailureException|"
            r"ServiceUnavailable|UnprocessableEntity|Internal Server Error"
        ),
    ),
    ("auth", re.compile(r"\b40[13] (?:Client )?Error|NotAuthorized|ForbiddenException|invalid_client|Unauthorized")),
)
_FACTS = (  # evidence key, pattern (first group that matched wins); order matters within a key
    ("warehouse", re.compile(r"Unable to find warehouse\s+'?([\w.-]+)|Warehouse '?([\w.-]+)'? (?:does not|not)")),
    ("namespace", re.compile(r"Namespace does not exist:\s*([\w.-]+)")),
    (
        "table",
        re.compile(
            r"Table does not exist:\s*([\w.]+)|Table with name\s+([\w.]+)\s+does not exist|"
            r"Table or view not found:\s*([\w.`]+)|[Ss]ource table\s+'?([\w.]+)"
        ),
    ),
    (
        "host",
        re.compile(
            r"Failed to resolve '([^']+)'|Could not resolve host:?\s*([\w.-]+)|"
            r"UnknownHostException:\s*([a-zA-Z][\w.-]*\w)|([\w.-]+): (?:Name or service not known|"
            r"nodename nor servname|Temporary failure)|host='([^']+)'|endpoint URL: \"?\w+://([^/:\"]+)"
        ),
    ),
    ("port", re.compile(r"port=(\d+)|endpoint URL: \"?\w+://[^/:\"]+:(\d+)")),
    ("http_status", re.compile(r"\b([45]\d\d) (?:Client |Server )?Error")),
    ("url", re.compile(r"for url: (\S+)")),
)


def classify(messages: list[str]) -> tuple[str, dict[str, str | int]]:
    """The error class of a step's error chain and the names it mentions (table, host, warehouse ...)."""
    text = "\n".join(messages)
    kind = next((k for k, rx in _CLASSES if rx.search(text)), "")
    facts: dict[str, str | int] = {}
    for key, rx in _FACTS:
        match = rx.search(text)
        if match and key not in facts:
            value = next(g for g in match.groups() if g)
            facts[key] = int(value) if key in ("port", "http_status") else value.strip("`'")
    table = facts.get("table")
    if isinstance(table, str) and "." in table and "namespace" not in facts:
        facts["namespace"] = table.rsplit(".", 1)[0]
    kind_rx = dict(_CLASSES).get(kind)
    hit = next((m for m in messages if kind_rx and kind_rx.search(m)), messages[-1] if messages else "")
    facts["error"] = hit[:800]
    return kind, facts


def _chain(error: PythonError | None) -> list[str]:
    """Messages of a PythonError, innermost causes last; Dagster's 'Error occurred while executing op' wrapper
    is dropped when it has causes, since it says nothing."""
    if error is None:
        return []
    causes = [str(m).strip() for m in error.causes]
    top = str(error.message).strip()
    return causes if causes and "DagsterExecutionStepExecutionError" in top else [top, *causes]


async def _graphql(ctx: ProbeContext, base: str, query: str, variables: dict[str, str] | None = None) -> JsonObject:
    """``data`` of a GraphQL answer; raises ``ValueError`` with the reason for anything else."""
    try:
        response = await ctx.http.post(
            f"{base}/graphql", json={"query": query, "variables": variables or {}}, timeout=REQUEST_TIMEOUT_S
        )
        body = response.json()
    except httpx.HTTPError as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    except ValueError as exc:
        raise ValueError(f"HTTP {response.status_code}, not JSON: {response.text[:200]}") from exc
    errors = body.get("errors") if isinstance(body, dict) else None
    data = body.get("data") if isinstance(body, dict) else None
    if errors or not isinstance(data, dict):
        info = [_error_message(GraphQLError.model_validate(e)) for e in dicts_only(errors)]
        raise ValueError(f"HTTP {response.status_code}: {info or str(body)[:200]}")
    return data


def _error_message(error: GraphQLError) -> JsonValue:
    """``errorInfo.message`` when Dagster attached the exception, else the error's own message."""
    info = error.extensions.error_info
    return info.message if info.model_fields_set else error.message


@dataclass
class _Log:
    """What a failed run's event log says: each failed step's error chain and the run failure's."""

    steps: dict[str, list[str]] = field(default_factory=dict)
    run_error: list[str] = field(default_factory=list)
    truncated: bool = False
    error: str | None = None  # why the log could not be read


async def _logs(ctx: ProbeContext, base: str, run_ids: list[str]) -> dict[str, _Log]:
    """The event logs of ``run_ids`` in one aliased query; a log that cannot be read says why."""
    if not run_ids:
        return {}
    params = ", ".join(f"$r{i}: ID!" for i in range(len(run_ids)))
    fields = " ".join(f"r{i}: logsForRun(runId: $r{i}, limit: {EVENT_LIMIT}) {{ ...L }}" for i in range(len(run_ids)))
    try:
        data = await _graphql(
            ctx, base, f"query Q({params}) {{ {fields} }}\n{EVENTS_Q}", {f"r{i}": rid for i, rid in enumerate(run_ids)}
        )
    except ValueError as exc:
        return {rid: _Log(error=str(exc)[:800]) for rid in run_ids}
    out: dict[str, _Log] = {}
    for i, rid in enumerate(run_ids):
        raw = data.get(f"r{i}")
        conn = EventConnection.model_validate(raw if isinstance(raw, dict) else {})
        log = out[rid] = _Log(truncated=bool(conn.has_more))
        if conn.typename != "EventConnection":
            log.error = f"{conn.typename}: {conn.message}"[:800]
        for ev in conn.events:
            if ev.typename == "ExecutionStepFailureEvent":
                log.steps[str(ev.step_key)] = _chain(ev.error)
            elif ev.typename == "RunFailureEvent":
                log.run_error = [str(ev.message), *_chain(ev.error)]
    return out


def _emit(ctx: ProbeContext, status: Status, code: str, subject: str, summary: str, /, **evidence: object) -> Finding:
    component = USER_CODE if code.startswith("dagster.") and code != "dagster.runs_unavailable" else WEBSERVER
    return ctx.finding(status, code, summary, subject=subject, evidence=evidence, component=component)


def _failed_run(ctx: ProbeContext, job: str, run: Run, log: _Log, evidence: dict[str, object]) -> list[Finding]:
    rid = run.run_id
    failed = [str(s.step_key) for s in run.step_stats if s.status == "FAILURE"]
    evidence |= {"failed_steps": failed, "events_truncated": log.truncated, "events_error": log.error}
    steps: list[Finding] = []
    for step, chain in sorted(log.steps.items()):
        kind, facts = classify(chain)
        code = f"dagster.step_failed_{kind}" if kind else "dagster.step_failed"
        summary = f"step {step} of {job} run {rid} failed on {kind.replace('_', ' ') or 'an error'}: {facts['error']}"
        about = {"job": job, "run_id": rid, "step_key": step, "error_kind": kind or None}
        steps.append(_emit(ctx, Status.FAIL, code, f"{job}/{step}", summary[:300], **facts, **about))
    if log.run_error:
        evidence["error"] = log.run_error[0][:800]
        if not log.steps:  # the run failed outside any step: its own error names the cause
            kind, facts = classify(log.run_error[1:] or log.run_error)
            evidence |= {"error_kind": kind or None, **{k: v for k, v in facts.items() if k != "error"}}
    for key in ("table", "host", "warehouse", "namespace"):
        if names := sorted({str(f.evidence[key]) for f in steps if key in f.evidence}):
            evidence[f"{key}s"] = names
    evidence["step_codes"] = {f.evidence["step_key"]: f.code for f in steps}
    summary = f"latest {job} run {rid} failed" + (f" in steps {', '.join(failed)}" if failed else "")
    return [_emit(ctx, Status.FAIL, "dagster.run_failed", job, summary, **evidence), *steps]


DESCRIPTION = "Judge each job's latest Dagster run; classify failed steps by their error"


@probe(
    "dagster_runs",
    components=[WEBSERVER],
    timeout=2 * REQUEST_TIMEOUT_S + 2.0,
    after=("dagster",),
    description=DESCRIPTION,
    codes=CODES,
)
async def dagster_runs(ctx: ProbeContext) -> list[Finding]:
    blocked = next((f for f in ctx.prior if f.code in ("dagster.webserver_unreachable", "dagster.storage_error")), None)
    if blocked is not None:
        summary = f"runs not read: {blocked.summary}"
        return [_emit(ctx, Status.UNKNOWN, Code.PROBE_SKIPPED, "runs", summary, blocked_by=blocked.code)]
    ep = next((e for e in ctx.endpoints() if e.url.scheme in ("http", "https")), None)
    if ep is None:
        summary = "no HTTP endpoint for the Dagster webserver from this vantage"
        return [ctx.finding(Status.UNKNOWN, Code.ENDPOINT_NOT_CONFIGURED, summary, subject="runs")]
    base = str(ep.url).rstrip("/")
    try:
        answer = (await _graphql(ctx, base, RUNS_Q % RUN_LIMIT)).get("runsOrError")
        runs = RunsOrError.model_validate(answer) if isinstance(answer, dict) else None
        if runs is None or runs.typename != "Runs":
            what = f"{runs.typename}: {runs.message}" if runs is not None else f"not runs: {answer}"
            raise ValueError(what[:800])  # noqa: TRY301
    except ValueError as exc:
        summary = f"Dagster would not list runs: {exc}"[:300]
        return [_emit(ctx, Status.UNKNOWN, "dagster.runs_unavailable", "runs", summary, url=base, error=str(exc))]
    by_job: dict[str, list[Run]] = {}
    for record in runs.results:  # newest first
        by_job.setdefault(str(record.job_name or "?"), []).append(record)
    if not by_job:
        summary = "Dagster has no runs recorded: pipeline health cannot be judged"
        return [_emit(ctx, Status.UNKNOWN, "dagster.no_runs", "runs", summary, url=base)]
    latest = {job: next((r for r in rs if r.status in FINISHED), None) for job, rs in by_job.items()}
    logs = await _logs(ctx, base, [str(r.run_id) for r in latest.values() if r and r.status == "FAILURE"])
    out: list[Finding] = []
    for job, run in sorted(latest.items()):
        history = Counter(str(r.status) for r in by_job[job])
        evidence: dict[str, object] = {"job": job, "recent_runs": dict(history)}
        if run is None:
            out.append(
                _emit(ctx, Status.UNKNOWN, "dagster.run_in_progress", job, f"no {job} run has finished yet", **evidence)
            )
            continue
        rid, status = run.run_id, run.status
        earlier = history["FAILURE"] - (status == "FAILURE")
        evidence |= {"run_id": rid, "run_status": status, "earlier_failures": earlier}
        if status == "SUCCESS":
            out.append(
                _emit(ctx, Status.OK, "dagster.run_succeeded", job, f"latest {job} run {rid} succeeded", **evidence)
            )
        elif status == "CANCELED":
            out.append(
                _emit(ctx, Status.WARN, "dagster.run_canceled", job, f"latest {job} run {rid} was canceled", **evidence)
            )
        else:
            out += _failed_run(ctx, job, run, logs.get(str(rid), _Log(error="log not read")), evidence)
    return out
