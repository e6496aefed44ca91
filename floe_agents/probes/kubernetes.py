"""Kubernetes: what the cluster itself says about each Floe workload, filed under that workload's component.

The seed's blockers were visible to `kubectl` long before anyone read a log: pods stuck in
CreateContainerConfigError on a Secret that was never created, a hook Job that failed or never ran, a Service
with no ready backends. So this probe reads the namespace (pods, Warning events, Secrets/ConfigMaps and the keys
pods reference, Services and their Endpoints, Jobs) and files each finding under the component the object belongs
to (the charts' ``app.kubernetes.io/component`` label, else its name), so root-cause analysis sees
"dagster-webserver cannot start: Secret floe-dagster-postgresql-secret missing" at the right node. Objects are
read as plain JSON (no client models), so a garbage answer is a finding, never a traceback; Secret data is
reduced to key names as soon as it arrives.
"""

from __future__ import annotations

from typing import Any

import anyio
from kubernetes_asyncio import client

from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.probes._kube_api import KubeError, call, list_items
from floe_agents.probes._kube_objects import (
    Json,
    Obs,
    absent_job_obs,
    comp_of,
    component_of,
    dicts,
    event_obs,
    fold_events,
    get,
    name_of,
    ok_obs,
    pod_obs,
    reference_obs,
    service_obs,
)
from floe_agents.registry import probe

__all__ = ["CODES", "KubeError", "component_of", "kubernetes", "list_items"]

CODES = {
    "k8s.not_configured": "unknown: no Kubernetes API in the targets (or it could not be configured)",
    "k8s.api_unreachable": "unknown: the API refused, timed out or failed TLS",
    "k8s.api_unauthorized": "unknown: the API answered 401/403 (token, RBAC)",
    "k8s.api_bad_response": "unknown: the API answered 5xx, non-JSON, truncated or not a list",
    "k8s.pod_config_error": "fail: a container cannot be configured (CreateContainerConfigError, ...)",
    "k8s.pod_crashloop": "fail: a container is in CrashLoopBackOff",
    "k8s.pod_image_pull": "fail: an image cannot be pulled",
    "k8s.pod_restarting": "warn: a running container restarted RESTART_WARN+ times",
    "k8s.pod_failed": "fail: a pod that is not a Job's ended Failed",
    "k8s.pod_pending": "warn: a pod has not started (unschedulable, waiting)",
    "k8s.pod_not_ready": "warn: a pod runs but is not Ready",
    "k8s.secret_missing": "fail: a Secret a pod references does not exist",
    "k8s.secret_key_missing": "fail: the Secret exists but lacks the referenced key",
    "k8s.configmap_missing": "fail: a ConfigMap a pod references does not exist",
    "k8s.configmap_key_missing": "fail: the ConfigMap exists but lacks the referenced key",
    "k8s.service_no_ready_endpoints": "fail: a Service has no ready backend",
    "k8s.hook_job_failed": "fail: a (Helm hook) Job ended Failed",
    "k8s.hook_job_incomplete": "warn: a Job has neither completed nor failed (stuck, or still running)",
    "k8s.hook_job_absent": "warn (unknown when no hook Job is kept at all): an expected Floe init Job is missing",
    "k8s.warning_event": "warn: a Warning event about a live object, seen in the last EVENT_WINDOW_S",
    "k8s.ok": "ok: the API answers (subject api) / a component's pods, references, Services, Jobs are fine",
}

LOG_TAIL_LINES = 20


async def _job_log(core: Any, namespace: str, pod: Json) -> Json:
    """The tail of a Job pod's log (the lab may answer 400 or nothing: that is said, not hidden)."""
    containers = dicts(get(pod, "spec", "containers"))
    kwargs = {"container": containers[0].get("name")} if containers else {}
    try:
        body = await call(core.read_namespaced_pod_log, name_of(pod), namespace, tail_lines=LOG_TAIL_LINES, **kwargs)
    except KubeError as exc:
        return {"log": None, "log_error": exc.evidence["reason"]}
    return {"log": body.decode("utf-8", "replace")[-2000:] or None}


async def _job_obs(core: Any, namespace: str, jobs: list[Json], pods: list[Json]) -> list[Obs]:
    out = []
    for job in jobs:
        meta, status = job.get("metadata") or {}, job.get("status") or {}
        conds = {c.get("type"): c for c in dicts(status.get("conditions")) if c.get("status") == "True"}
        if "Complete" in conds:
            continue
        owned = [
            p
            for p in pods
            if any(o.get("uid") == meta.get("uid") for o in dicts(get(p, "metadata", "ownerReferences")))
        ]
        owned.sort(key=lambda p: str(get(p, "metadata", "creationTimestamp")))
        first = [(dicts(get(p, "status", "containerStatuses")) or [{}])[0] for p in owned]
        states = [{"pod": name_of(p), "phase": get(p, "status", "phase"), "state": c.get("state")}
                  for p, c in zip(owned, first, strict=True)]  # fmt: skip
        ev: Json = {"job": name_of(job), "helm_hook": get(meta, "annotations", "helm.sh/hook"),
                    "active": status.get("active", 0), "failed": status.get("failed", 0), "pods": states}  # fmt: skip
        subject = f"job/{name_of(job)}"
        if "Failed" in conds:
            ev.update(reason=conds["Failed"].get("reason"), message=conds["Failed"].get("message"))
            ev.update(await _job_log(core, namespace, owned[-1]) if owned else {"log": None})
            summary = f"Job {name_of(job)} failed ({ev['reason']})"
            out.append(Obs(Status.FAIL, "k8s.hook_job_failed", summary, comp_of(job), subject, ev))
        else:
            summary = f"Job {name_of(job)} has not completed"
            out.append(Obs(Status.WARN, "k8s.hook_job_incomplete", summary, comp_of(job), subject, ev))
    return out


def _api_obs(exc: KubeError, resource: str) -> Obs:
    what = {"k8s.api_unreachable": "unreachable", "k8s.api_unauthorized": "refused us"}.get(exc.code, "answered badly")
    summary = f"Kubernetes API {what} listing {resource}: {exc}"
    return Obs(
        Status.UNKNOWN, exc.code, summary, "kubernetes", f"api/{resource}", {**exc.evidence, "resource": resource}
    )


async def _observe(api: Any, ns: str) -> list[Obs]:
    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    calls = {"pods": core.list_namespaced_pod, "events": core.list_namespaced_event,
             "services": core.list_namespaced_service, "endpoints": core.list_namespaced_endpoints,
             "secrets": core.list_namespaced_secret, "configmaps": core.list_namespaced_config_map,
             "jobs": batch.list_namespaced_job}  # fmt: skip
    got: dict[str, list[Json]] = {}
    errors: dict[str, KubeError] = {}

    async def fetch(resource: str) -> None:
        try:
            got[resource] = await list_items(calls[resource], ns)
        except KubeError as exc:
            errors[resource] = exc

    async with anyio.create_task_group() as tg:
        for resource in calls:
            tg.start_soon(fetch, resource)
    if "pods" in errors:  # the API as a whole is not usable: one finding says why
        return [_api_obs(errors["pods"], "pods")]
    counts = {"namespace": ns, **{f"{res}_seen": len(items) for res, items in sorted(got.items())}}
    # Secret data is reduced to key names here and not kept.
    stores = {kind: {name_of(o): {*(o.get("data") or {}), *(o.get("binaryData") or {})} for o in got.pop(res)}
              for kind, res in (("secret", "secrets"), ("configmap", "configmaps")) if res in got}  # fmt: skip
    pods, jobs = got["pods"], got.get("jobs", [])
    out = [_api_obs(exc, resource) for resource, exc in sorted(errors.items())]
    out += [o for pod in pods for o in pod_obs(pod)] + reference_obs(pods, stores)
    if "services" in got and "endpoints" in got:
        out += service_obs(got["services"], got["endpoints"], pods)
    if "jobs" in got:
        out += await _job_obs(core, ns, jobs, pods) + absent_job_obs(jobs, pods)
    live = {("Pod", name_of(p)): comp_of(p) for p in pods} | {("Job", name_of(j)): comp_of(j) for j in jobs}
    out += fold_events(out, event_obs(got.get("events", []), live))
    return out + ok_obs(out, pods, jobs, counts)


@probe(
    "kubernetes",
    components=["kubernetes"],
    timeout=12.0,
    description="Pods, events, references, Services, Jobs",
    codes=CODES,
    public_evidence=("missing_secrets", "secret_keys"),  # Secret names and key names, never their values
)
async def kubernetes(ctx: ProbeContext) -> list[Finding]:
    """Read the Floe namespace and report each workload's Kubernetes-level problems under its component."""
    api, kube_error = await ctx.services.kube.get()
    if api is None:
        reason = kube_error or "the targets configure no Kubernetes API (kubernetes.mode: none)"
        ev = {"reason": reason, "mode": ctx.targets.kubernetes.mode}
        return [ctx.finding(Status.UNKNOWN, "k8s.not_configured", f"cannot read the cluster: {reason}", subject="api",
                            evidence=ev)]  # fmt: skip
    observed = await _observe(api, ctx.targets.namespace)
    return [ctx.finding(o.status, o.code, o.summary, component=o.component, subject=o.subject, evidence=o.evidence,
                        severity=o.severity) for o in observed]  # fmt: skip
