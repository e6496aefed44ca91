"""Emitters: does the user code that should send traces and lineage actually have the settings to do it?

The seed report's observability was "infrastructure ready, no data": Jaeger and Marquez were up and empty,
because the pipeline never emitted anything — and upstream's emitters fail silently (a NoOp tracer when no
endpoint is set; lineage posting only warns). So an empty Jaeger is a symptom; the cause is in the emitter's
deployment. This probe reads the Dagster user deployments' pod templates through the Kubernetes API and checks
that the OTLP and OpenLineage settings platform.yaml asks for are there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Severity, Status
from floe_agents.probes._kube_api import KubeError, list_items
from floe_agents.probes._kube_objects import Json, dicts, get, name_of
from floe_agents.registry import probe

if TYPE_CHECKING:
    from kubernetes_asyncio.client import ApiClient

CODES = {
    "emitters.otlp_not_configured": "platform wants traces; the user code has no OTEL_EXPORTER_OTLP_ENDPOINT",
    "emitters.lineage_not_configured": "platform wants lineage; the user code has no OPENLINEAGE_URL",
    "emitters.ok": "both configured as the platform asks",
    "emitters.not_observable": "no Kubernetes API, the API failed, or no user deployment found",
}
USER_CODE_LABELS = ("app.kubernetes.io/component=user-deployments", "component=user-deployments")
WANTED = {
    "otlp": ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    "lineage": ("OPENLINEAGE_URL",),
}


def _env_names(container: Json) -> set[str]:
    return {str(e["name"]) for e in dicts(container.get("env")) if "name" in e}


async def _user_deployments(ctx: ProbeContext, api: ApiClient) -> list[Json]:
    """The user code Deployments, by the labels upstream's chart puts on them; KubeError if the API fails."""
    from kubernetes_asyncio import client  # noqa: PLC0415 - only when a cluster is configured

    apps = client.AppsV1Api(api)
    for selector in USER_CODE_LABELS:
        items = await list_items(apps.list_namespaced_deployment, ctx.targets.namespace, label_selector=selector)
        if items:
            return items
    return []


@probe(
    "emitters",
    components=["dagster-user-code"],
    timeout=5.0,
    description="User code has the OTLP/OpenLineage settings platform.yaml asks for",
    codes=CODES,
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
        deployments = await _user_deployments(ctx, api)
    except KubeError as exc:  # the kubernetes probe reports the API itself; here: why this check could not run
        return [
            ctx.finding(
                Status.UNKNOWN,
                "emitters.not_observable",
                f"cannot read the user code deployments: {exc}",
                severity=Severity.LOW,
                evidence={**exc.evidence, "api_code": exc.code},
            )
        ]
    if not deployments:
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
    for dep in deployments:
        name = name_of(dep)
        containers = dicts(get(dep, "spec", "template", "spec", "containers"))
        names = set().union(*(_env_names(c) for c in containers)) if containers else set()
        has_env_from = any(c.get("envFrom") for c in containers)
        missing = {kind: spec for kind, spec in wanted.items() if not names & set(WANTED[kind])}
        for kind, (code, endpoint) in missing.items():
            out.append(
                ctx.finding(
                    Status.FAIL,
                    code,
                    f"{name} has no {' or '.join(WANTED[kind])} although platform.yaml sends {kind} to {endpoint}: "
                    "its emitter falls back to a silent no-op",
                    subject=f"{name}/{WANTED[kind][0]}",  # one finding per missing setting, each its own key
                    severity=Severity.HIGH,
                    evidence={
                        "deployment": name,
                        "missing_env": list(WANTED[kind]),
                        "configured_endpoint": endpoint,
                        "env_from_present": has_env_from,
                        "service_name": obs.service_name,
                    },
                )
            )
        if not missing:
            out.append(
                ctx.finding(
                    Status.OK,
                    "emitters.ok",
                    f"{name} has the telemetry settings platform.yaml asks for",
                    subject=name,
                    evidence={"deployment": name},
                )
            )
    return out
