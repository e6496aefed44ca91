"""Emitters: does the user code that should send traces and lineage actually have the settings to do it?

The seed report's observability was "infrastructure ready, no data": Jaeger and Marquez were up and empty,
because the pipeline never emitted anything — and upstream's emitters fail silently (a NoOp tracer when no
endpoint is set; lineage posting only warns). So an empty Jaeger is a symptom; the cause is in the emitter's
deployment. This probe reads the Dagster user deployments' pod templates through the Kubernetes API and checks
that the OTLP and OpenLineage settings platform.yaml asks for are there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Severity, Status
from floe_agents.probes._kube_api import Json, KubeError, dicts, get, list_items, name_of
from floe_agents.probes._kube_components import component_of
from floe_agents.probes._lineage_namespace import USER_CODE_LABELS
from floe_agents.registry import probe

if TYPE_CHECKING:
    from kubernetes_asyncio.client import ApiClient

CODES = {
    "emitters.otlp_not_configured": "fail: platform wants traces; an emitting workload has no OTLP endpoint env",
    "emitters.lineage_not_configured": "fail: platform wants lineage; an emitting workload has no OPENLINEAGE_URL",
    "emitters.service_name_mismatch": "warn: the user code emits under another service name than platform.yaml's",
    "emitters.otlp_endpoint_differs": "warn: a workload's OTLP endpoint names another host or port than platform.yaml",
    "emitters.ok": "ok: the workload has the telemetry settings platform.yaml asks for",
    "emitters.not_observable": "unknown: no Kubernetes API, the API failed, or no user deployment found",
}
FIXES = {
    "emitters.otlp_not_configured": "Set {evidence.missing_env} = {evidence.configured_endpoint} on "
    "{evidence.deployment} (kubectl -n {namespace} set env deployment/{evidence.deployment} ...), as platform.yaml's "
    "observability says; it restarts with it.",
    "emitters.lineage_not_configured": "Set OPENLINEAGE_URL = {evidence.configured_endpoint} on "
    "{evidence.deployment} (kubectl -n {namespace} set env deployment/{evidence.deployment} ...).",
}
TELEMETRY_PREFIXES = ("OTEL_", "OPENLINEAGE_")  # a workload that sets any of these means to emit
WANTED = {
    "otlp": ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    "lineage": ("OPENLINEAGE_URL",),
}


def _env(containers: list[Json]) -> tuple[set[str], dict[str, str]]:
    """The env names the containers set, and the literal values among them (a reference's value is not read)."""
    names: set[str] = set()
    values: dict[str, str] = {}
    for container in containers:
        for e in dicts(container.get("env")):
            if "name" in e:
                names.add(str(e["name"]))
                if isinstance(e.get("value"), str):
                    values[str(e["name"])] = str(e["value"])
    return names, values


def emits_as(values: dict[str, str]) -> str | None:
    """The service name a workload's literal env gives its traces (OTEL_SERVICE_NAME wins over the
    ``service.name`` of OTEL_RESOURCE_ATTRIBUTES, as in the OpenTelemetry SDK)."""
    if values.get("OTEL_SERVICE_NAME"):
        return values["OTEL_SERVICE_NAME"]
    for pair in values.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, _, value = pair.partition("=")
        if key.strip() == "service.name" and value.strip():
            return value.strip()
    return None


def _where(url: str) -> tuple[str, int | None]:
    """Host (its first DNS label: ``jaeger`` and ``jaeger.ns.svc.cluster.local`` are one Service) and port."""
    try:
        parsed = httpx.URL(url if "://" in url else f"http://{url}")
    except httpx.InvalidURL:
        return url, None
    return parsed.host.split(".", 1)[0], parsed.port


async def _workloads(ctx: ProbeContext, api: ApiClient) -> list[tuple[Json, bool]]:
    """The user code Deployments (by the labels upstream's chart puts on them), and every other Deployment or
    StatefulSet that sets telemetry env (it means to emit): each with whether it is user code. KubeError if the
    API fails."""
    from kubernetes_asyncio import client  # noqa: PLC0415 - only when a cluster is configured

    apps, ns = client.AppsV1Api(api), ctx.targets.namespace
    user: list[Json] = []
    for selector in USER_CODE_LABELS:
        if user := await list_items(apps.list_namespaced_deployment, ns, label_selector=selector):
            break
    mine = {name_of(d) for d in user}
    others = [
        w
        for fn in (apps.list_namespaced_deployment, apps.list_namespaced_stateful_set)
        for w in await list_items(fn, ns)
        if name_of(w) not in mine and any(n.startswith(TELEMETRY_PREFIXES) for n in _env(_containers(w))[0])
    ]
    return [(d, True) for d in user] + [(w, False) for w in others]


def _labels(workload: Json) -> dict[str, str]:
    labels = get(workload, "metadata", "labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _containers(workload: Json) -> list[Json]:
    return dicts(get(workload, "spec", "template", "spec", "containers"))


@probe(
    "emitters",
    components=["dagster-user-code"],
    timeout=5.0,
    description="Emitting workloads have the OTLP/OpenLineage settings platform.yaml asks for",
    codes=CODES,
    fixes=FIXES,
)
async def emitters(ctx: ProbeContext) -> list[Finding]:
    platform = ctx.platform
    if platform is None:
        return []  # nothing to compare against: not applicable here
    api, kube_error = await ctx.services.kube.get()
    if api is None and kube_error is None:
        return []  # no cluster configured: not applicable here
    if api is None:
        return [
            ctx.finding(
                Status.UNKNOWN,
                "emitters.not_observable",
                f"cannot check the emitters: {kube_error}",
                severity=Severity.LOW,
                evidence={"reason": kube_error},
            )
        ]
    obs = platform.observability
    wanted: dict[str, tuple[str, str | None]] = {}
    if obs.traces and obs.otlp_endpoint:
        wanted["otlp"] = ("emitters.otlp_not_configured", obs.otlp_endpoint)
    if obs.lineage and obs.lineage_endpoint:
        wanted["lineage"] = ("emitters.lineage_not_configured", obs.lineage_endpoint)
    try:
        workloads = await _workloads(ctx, api)
    except KubeError as exc:  # the kubernetes probe reports the API itself; here: why this check could not run
        return [
            ctx.finding(
                Status.UNKNOWN,
                "emitters.not_observable",
                f"cannot read the emitting workloads: {exc}",
                severity=Severity.LOW,
                evidence={**exc.evidence, "api_code": exc.code},
            )
        ]
    if not any(user for _, user in workloads):
        return [
            ctx.finding(
                Status.UNKNOWN,
                "emitters.not_observable",
                "no Dagster user deployment found",
                severity=Severity.INFO,
                evidence={"labels": list(USER_CODE_LABELS)},
            )
        ]
    out: list[Finding] = []
    for workload, user in workloads:
        out += _check(ctx, workload, user, wanted)
    return out


def _check(ctx: ProbeContext, workload: Json, user: bool, wanted: dict[str, tuple[str, str | None]]) -> list[Finding]:
    """One workload's telemetry settings against platform.yaml's: what is missing, then what differs."""
    obs = ctx.platform.observability if ctx.platform is not None else None
    name = name_of(workload)
    component = component_of(_labels(workload), name)
    names, values = _env(_containers(workload))
    has_env_from = any(c.get("envFrom") for c in _containers(workload))
    base: dict[str, object] = {"deployment": name, "kind": str(workload.get("kind") or "Deployment")}
    out: list[Finding] = []
    missing = {kind: spec for kind, spec in wanted.items() if not names & set(WANTED[kind])}
    for kind, (code, endpoint) in missing.items():
        summary = (f"{name} has no {' or '.join(WANTED[kind])} although platform.yaml sends {kind} to {endpoint}: "
                   "its emitter falls back to a silent no-op")  # fmt: skip
        evidence = {**base, "missing_env": WANTED[kind][0], "configured_endpoint": endpoint,
                    "env_from_present": has_env_from, "service_name": obs.service_name if obs else None}  # fmt: skip
        out.append(ctx.finding(Status.FAIL, code, summary, subject=f"{name}/{WANTED[kind][0]}",
                               severity=Severity.HIGH, evidence=evidence, component=component))  # fmt: skip
    service = obs.service_name if obs else None
    actual = emits_as(values)
    if user and service and actual and actual != service:
        summary = f"{name} emits its traces as {actual!r}, platform.yaml names the service {service!r}"
        evidence = {**base, "emits_as": actual, "configured_service": service}
        subject = f"{name}/OTEL_SERVICE_NAME"
        out.append(ctx.finding(Status.WARN, "emitters.service_name_mismatch", summary, subject=subject,
                               evidence=evidence, component=component))  # fmt: skip
    configured = obs.otlp_endpoint if obs and obs.traces else None
    set_to = next((values[n] for n in WANTED["otlp"] if n in values), None)
    if configured and set_to and _where(set_to) != _where(configured):
        summary = f"{name} sends traces to {set_to}, platform.yaml's OTLP endpoint is {configured}"
        evidence = {**base, "otlp_endpoint": set_to, "configured_endpoint": configured}
        subject = f"{name}/OTEL_EXPORTER_OTLP_ENDPOINT"
        out.append(ctx.finding(Status.WARN, "emitters.otlp_endpoint_differs", summary, subject=subject,
                               evidence=evidence, component=component))  # fmt: skip
    if not out:
        summary = f"{name} has the telemetry settings platform.yaml asks for"
        out.append(ctx.finding(Status.OK, "emitters.ok", summary, subject=name, evidence=base, component=component))
    return out
