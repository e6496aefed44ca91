"""Dagster: is the orchestrator itself working — webserver, its storage, the code locations and the daemons?

The webserver is the API of the whole Dagster deployment, so this probe asks it, over its public GraphQL API,
what the seed report's author had to find by hand: versions (``/server_info``, ``{ version }``), whether each
code location loaded (or its load error, which belongs to the user code deployment), and each daemon's
heartbeat (which belongs to the daemon). A webserver that answers while its GraphQL resolvers fail on the
instance database (``relation "runs" does not exist``: unmigrated schema; ``password authentication failed``)
is a storage problem, reported once with the relations it misses, not as one error per query. Queries run
concurrently, each under its own short timeout. Recent runs are the ``dagster_runs`` probe's job.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from floe_agents.context import Endpoint, ProbeContext
from floe_agents.findings import Code, Finding, Severity, Status
from floe_agents.gather import gather
from floe_agents.probes._http import Answer, call_json
from floe_agents.probes._models.dagster import DaemonStatus, GraphQLError, Instance, PythonError, Workspace
from floe_agents.probes._models.lenient import JsonObject, parse_each
from floe_agents.registry import probe

REQUEST_TIMEOUT_S = 3.0
Evidence = dict[str, object]
WEBSERVER, DAEMON, USER_CODE = "dagster-webserver", "dagster-daemon", "dagster-user-code"

CODES = {
    "dagster.webserver_ok": "/server_info and GraphQL answer; versions in evidence",
    "dagster.webserver_unreachable": "no HTTP answer at all (refused, timeout, unresolvable, TLS mismatch)",
    "dagster.webserver_bad_answer": "an HTTP answer that is not Dagster's (error status, auth, non-JSON, truncated)",
    "dagster.graphql_error": "GraphQL answered with errors that are not a storage problem",
    "dagster.storage_error": "GraphQL fails on the instance database (missing relations, auth, unreachable)",
    "dagster.code_location_loaded": "a code location loaded (repositories and jobs in evidence)",
    "dagster.code_location_loading": "a code location is still loading",
    "dagster.code_location_error": "a code location failed to load (the user code's error message)",
    "dagster.no_code_locations": "the workspace has no code locations at all",
    "dagster.daemons_healthy": "every required daemon heartbeats",
    "dagster.daemon_unhealthy": "a required daemon has no recent heartbeat",
    "dagster.daemon_errors": "a daemon heartbeats but reports errors",
}

VERSION_Q = "{ version }"
WORKSPACE_Q = """{ workspaceOrError { __typename
  ... on Workspace { locationEntries { name loadStatus locationOrLoadError { __typename
    ... on PythonError { className message errorChain { error { className message } } }
    ... on RepositoryLocation { repositories { name jobs { name } } } } } }
  ... on PythonError { message } } }"""
DAEMONS_Q = """{ instance { daemonHealth { allDaemonStatuses {
  daemonType required healthy lastHeartbeatTime lastHeartbeatErrors { message } } } } }"""

_RELATION = re.compile(r'relation \\?"(\w+)\\?" does not exist|NoSuchTableError: (\w+)\s*$', re.MULTILINE)
_STORAGE = (
    ("missing_tables", re.compile(r"UndefinedTable|relation \\?\"\w+\\?\" does not exist|exc\.NoSuchTable")),
    ("auth_failed", re.compile(r"password authentication failed|no password supplied|role \"\w+\" does not exist")),
    ("missing_database", re.compile(r'database "[\w-]+" does not exist')),
    ("unreachable", re.compile(r"could not connect to server|connection to server at .* failed|could not translate")),
    ("other", re.compile(r"psycopg2?\.|sqlalchemy\.exc\.(Operational|Programming|Database)Error|alembic")),
)


async def request_json(ctx: ProbeContext, url: str, body: JsonObject | None = None) -> JsonObject | Answer:
    """GET (or POST ``body``) and return the JSON object, or the :class:`Answer` that says why there is none.
    GraphQL error answers (4xx/5xx with a JSON ``errors`` body) are answers, not failures."""
    method = "GET" if body is None else "POST"
    answer = await call_json(ctx, method, httpx.URL(url), timeout_s=REQUEST_TIMEOUT_S, json=body)
    parsed, code = answer.body, answer.status
    if answer.reason == "http_status" and isinstance(parsed, dict) and parsed.get("errors"):
        return parsed
    if answer.reason:
        reason = f"http_{code}" if answer.reason == "http_status" else answer.reason
        return dataclasses.replace(
            answer, reason=reason, detail=f"HTTP {code}: {answer.detail}" if code else answer.detail
        )
    if not isinstance(parsed, dict):
        return Answer(answer.url, code, parsed, "unexpected_json", f"HTTP {code}: {str(parsed)[:200]}")
    return parsed


def graphql_errors(answer: JsonObject) -> list[str]:
    """The server's own error messages (the Python exception text when Dagster attaches it)."""
    errors = answer.get("errors")
    items = errors if isinstance(errors, list) else []  # GraphQL's errors are a list
    return [GraphQLError.model_validate(e).text if isinstance(e, dict) else str(e).strip() for e in items]


_UNREACHABLE_USER_CODE = re.compile(r"UserCodeUnreachable|UNAVAILABLE|failed to connect to all addresses")


def _storage_reason(message: str) -> str | None:
    return next((reason for reason, rx in _STORAGE if rx.search(message)), None)


@dataclass
class _Run:
    """One probe run: the answers of the concurrent queries, the storage errors noticed, the findings so far."""

    ctx: ProbeContext
    answers: dict[str, JsonObject | Answer] = field(default_factory=dict)
    storage: dict[str, list[str]] = field(default_factory=dict)  # where -> storage error messages
    out: list[Finding] = field(default_factory=list)

    def emit(  # noqa: PLR0917 - positional keeps the many emit calls on one line each
        self,
        status: Status,
        code: str,
        subject: str,
        summary: str,
        evidence: Mapping[str, object],
        component: str,
        *,
        severity: Severity | None = None,
    ) -> Finding:
        finding = self.ctx.finding(
            status, code, summary, subject=subject, evidence=evidence, component=component, severity=severity
        )
        self.out.append(finding)
        return finding

    def note_storage(self, where: str, messages: list[str]) -> list[str]:
        """Keep storage errors for the one storage finding; return the rest."""
        rest = [m for m in messages if _storage_reason(m) is None]
        if len(rest) < len(messages):
            self.storage.setdefault(where, []).extend(m for m in messages if m not in rest)
        return rest

    def webserver(self, ep: Endpoint) -> Finding:
        info, version = self.answers["server_info"], self.answers["version"]
        evidence: Evidence = {"url": str(ep.url), "endpoint": ep.name}
        if isinstance(info, Answer) or isinstance(version, Answer):
            failures = [(p, a) for p, a in (("/server_info", info), ("/graphql", version)) if isinstance(a, Answer)]
            path, failed = next(((p, f) for p, f in failures if not f.unreachable), failures[0])
            code = "dagster.webserver_unreachable" if failed.unreachable else "dagster.webserver_bad_answer"
            what = "did not answer" if failed.unreachable else "answered, but not like Dagster"
            evidence |= {
                "path": path,
                "reason": failed.reason,
                "error": failed.detail,
                "status_code": failed.status,
            }
            summary = f"Dagster webserver {ep.url} {what} ({failed.reason}) on {path}"
            return self.emit(Status.FAIL, code, str(ep.url), summary, evidence, WEBSERVER)
        if isinstance(info, dict):
            evidence |= {k: v for k, v in info.items() if k.endswith("version")}
        data = version.get("data")
        if version.get("errors") or not isinstance(data, dict) or "version" not in data:
            evidence["errors"] = errors = graphql_errors(version) or [f"no data in answer: {str(version)[:200]}"]
            summary = f"Dagster GraphQL at {ep.url} fails: {errors[0][:160]}"
            return self.emit(Status.FAIL, "dagster.graphql_error", str(ep.url), summary, evidence, WEBSERVER)
        evidence["graphql_version"] = data["version"]
        summary = f"Dagster webserver {data['version']} answers at {ep.url}"
        return self.emit(Status.OK, "dagster.webserver_ok", str(ep.url), summary, evidence, WEBSERVER)

    def data(self, name: str, key: str) -> JsonObject | None:
        """``data[key]`` of query ``name``; storage errors are noted, other errors become a graphql_error finding."""
        answer = self.answers[name]
        if isinstance(answer, Answer):
            return None  # the webserver finding already says why
        errors = self.note_storage(name, graphql_errors(answer))
        data = answer.get("data")
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, dict) and value.get("__typename") == "PythonError":
            errors += self.note_storage(name, [str(PythonError.model_validate(value).message).strip()])
            value = None
        if errors:
            summary = f"Dagster GraphQL {key} fails: {errors[0][:160]}"
            self.emit(Status.FAIL, "dagster.graphql_error", key, summary, {"query": key, "errors": errors}, WEBSERVER)
        return value if isinstance(value, dict) else None

    def locations(self, answer: JsonObject | None) -> None:
        """Location load errors belong to the user code, unless they are the instance storage failing (the
        webserver reads location state from it) while other queries fail on the storage too."""
        if answer is None:
            return
        entries, fold = Workspace.model_validate(answer).location_entries, bool(self.storage)
        if not entries:
            summary = "the Dagster workspace has no code locations: no jobs can run"
            self.emit(Status.WARN, "dagster.no_code_locations", "workspace", summary, {}, USER_CODE)
        for entry in entries:
            name, status, loc = str(entry.name), entry.load_status, entry.location
            evidence: Evidence = {"location": name, "load_status": status}
            if loc.typename == "RepositoryLocation":
                evidence["repositories"] = {r.name: [j.name for j in r.jobs] for r in loc.repositories}
                self.emit(
                    Status.OK, "dagster.code_location_loaded", name, f"code location {name} loaded", evidence, USER_CODE
                )
            elif loc.typename != "PythonError":
                summary = f"code location {name} is {status or 'not loaded'}"
                self.emit(Status.WARN, "dagster.code_location_loading", name, summary, evidence, USER_CODE)
            else:
                messages = [str(m).strip() for m in (loc.message, *loc.causes) if m] or ["(no message)"]
                if fold and not self.note_storage(f"code location {name}", messages[:1]):
                    continue  # it failed on the instance storage: reported with the storage finding
                evidence |= {"error_class": loc.class_name, "error": messages[0][:800], "causes": messages[1:4]}
                if _UNREACHABLE_USER_CODE.search(" ".join(messages)):
                    evidence["reason"] = "user_code_unreachable"
                summary = f"code location {name} failed to load: {messages[0][:160]}"
                self.emit(Status.FAIL, "dagster.code_location_error", name, summary, evidence, USER_CODE)

    def daemons(self, answer: JsonObject | None) -> None:
        statuses = Instance.model_validate(answer or {}).daemon_health.all_daemon_statuses
        if not isinstance(statuses, list):
            return
        now, healthy, unhealthy = time.time(), [], False
        for d in parse_each(DaemonStatus, statuses):
            kind, beat = str(d.daemon_type), d.last_heartbeat_time
            errors = [str(e.message).strip()[:500] for e in d.last_heartbeat_errors]
            age = round(now - beat, 1) if isinstance(beat, int | float) else None
            evidence = {
                "daemon_type": kind,
                "required": d.required,
                "healthy": d.healthy,
                "last_heartbeat": beat,
                "heartbeat_age_s": age,
                "errors": errors,
            }
            if d.required and not d.healthy:
                unhealthy = True
                why = "never sent a heartbeat" if age is None else f"last heartbeat {age}s ago"
                summary = f"Dagster daemon {kind} is unhealthy ({why})"
                self.emit(Status.FAIL, "dagster.daemon_unhealthy", kind, summary, evidence, DAEMON)
            elif errors:
                summary = f"Dagster daemon {kind} reports errors: {errors[0][:160]}"
                self.emit(Status.WARN, "dagster.daemon_errors", kind, summary, evidence, DAEMON)
            elif d.healthy:
                healthy.append(kind)
        if healthy and not unhealthy:
            summary = f"{len(healthy)} Dagster daemons heartbeat"
            self.emit(Status.OK, "dagster.daemons_healthy", "daemons", summary, {"healthy": sorted(healthy)}, DAEMON)

    def storage_finding(self) -> None:
        if not self.storage:
            return
        messages = [m for ms in self.storage.values() for m in ms]
        relations = sorted({a or b for m in messages for a, b in _RELATION.findall(m)})
        reason = next((r for r in (_storage_reason(m) for m in messages) if r), "other")
        evidence = {"reason": reason, "relations": relations, "affected": sorted(self.storage), "error": messages[0]}
        what = f"missing relations {', '.join(relations)}" if relations else reason.replace("_", " ")
        summary, code = f"Dagster's instance database fails ({what})", "dagster.storage_error"
        self.emit(Status.FAIL, code, "instance storage", summary, evidence, WEBSERVER, severity=Severity.CRITICAL)


QUERIES = (("server_info", None), ("version", VERSION_Q), ("workspace", WORKSPACE_Q), ("daemons", DAEMONS_Q))
DESCRIPTION = "Ask the Dagster webserver for versions, code locations, daemon heartbeats and storage health"


@probe("dagster", components=[WEBSERVER], timeout=REQUEST_TIMEOUT_S + 3.0, description=DESCRIPTION, codes=CODES)
async def dagster(ctx: ProbeContext) -> list[Finding]:
    endpoints = [e for e in ctx.endpoints() if e.url.scheme in ("http", "https")]
    ep = next((e for e in endpoints if e.name == "http"), endpoints[0] if endpoints else None)
    if ep is None:
        summary = "no HTTP endpoint for the Dagster webserver from this vantage"
        return [ctx.finding(Status.UNKNOWN, Code.ENDPOINT_NOT_CONFIGURED, summary, subject=WEBSERVER)]
    base, run = str(ep.url).rstrip("/"), _Run(ctx)  # keep a --path-prefix

    calls = [functools.partial(request_json, ctx, f"{base}/server_info" if query is None else f"{base}/graphql",
                               None if query is None else {"query": query}) for _, query in QUERIES]  # fmt: skip
    run.answers.update(zip((name for name, _ in QUERIES), await gather(calls), strict=True))
    if run.webserver(ep).code == "dagster.webserver_unreachable":
        return run.out  # nothing else to ask
    run.daemons(run.data("daemons", "instance"))
    run.locations(run.data("workspace", "workspaceOrError"))
    run.storage_finding()
    return run.out
