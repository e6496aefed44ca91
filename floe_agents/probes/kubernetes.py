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

from typing import TYPE_CHECKING

from floe_agents.context import ProbeContext
from floe_agents.findings import CannotObserveError, Finding, Status
from floe_agents.probes._kube_api import KubeError, call, list_all
from floe_agents.probes._kube_objects import (
    Evidence,
    absent_job_obs,
    comp_of,
    component_of,
    event_obs,
    fold_events,
    ok_obs,
    pod_obs,
    reference_obs,
    service_obs,
    settled_since,
)
from floe_agents.probes._models.kube import Endpoints, Event, Job, KeyStore, Pod, Service
from floe_agents.probes._models.lenient import parse_each
from floe_agents.probes._verdict import Verdict
from floe_agents.registry import probe

if TYPE_CHECKING:
    from kubernetes_asyncio import client

__all__ = ["CODES", "KubeError", "component_of", "kubernetes"]

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


async def _job_log(core: client.CoreV1Api, namespace: str, pod: Pod) -> Evidence:
    """The tail of a Job pod's log (the lab may answer 400 or nothing: that is said, not hidden)."""
    containers = pod.spec.containers
    kwargs = {"container": str(containers[0].name)} if containers else {}
    try:
        body = await call(core.read_namespaced_pod_log, pod.name, namespace, tail_lines=LOG_TAIL_LINES, **kwargs)
    except KubeError as exc:
        return {"log": None, "log_error": exc.evidence["reason"]}
    return {"log": body.decode("utf-8", "replace")[-2000:] or None}


def _first_state(pod: Pod) -> object:
    """The first container's state as the API sent it (None when it has none)."""
    first = pod.status.container_statuses[0] if pod.status.container_statuses else None
    return first.state.model_dump(by_alias=True, exclude_unset=True) if first and first.state else None


async def _job_obs(core: client.CoreV1Api, namespace: str, jobs: list[Job], pods: list[Pod]) -> list[Verdict]:
    out = []
    for job in jobs:
        conds = {c.type: c for c in job.status.conditions if c.status == "True"}
        if "Complete" in conds:
            continue
        owned = [p for p in pods if any(o.uid == job.metadata.uid for o in p.metadata.owner_references)]
        owned.sort(key=lambda p: str(p.metadata.creation_timestamp))
        states = [{"pod": p.name, "phase": p.status.phase, "state": _first_state(p)} for p in owned]
        ev: Evidence = {"job": job.name, "helm_hook": job.metadata.annotations.get("helm.sh/hook"),
                        "active": job.status.active, "failed": job.status.failed, "pods": states}  # fmt: skip
        subject, comp = f"job/{job.name}", comp_of(job)
        failed = conds.get("Failed")
        if failed is not None:
            ev.update(reason=failed.reason, message=failed.message)
            ev.update(await _job_log(core, namespace, owned[-1]) if owned else {"log": None})
            summary = f"Job {job.name} failed ({failed.reason})"
            out.append(Verdict(Status.FAIL, "k8s.hook_job_failed", summary, ev, subject, comp))
        else:
            summary = f"Job {job.name} has not completed"
            out.append(Verdict(Status.WARN, "k8s.hook_job_incomplete", summary, ev, subject, comp))
    return out


def _api_failure(exc: KubeError, resource: str) -> Verdict:
    what = {"k8s.api_unreachable": "unreachable", "k8s.api_unauthorized": "refused us"}.get(exc.code, "answered badly")
    summary = f"Kubernetes API {what} listing {resource}: {exc}"
    ev = {**exc.evidence, "resource": resource}
    return Verdict(Status.UNKNOWN, exc.code, summary, ev, subject=f"api/{resource}", component="kubernetes")


async def _observe(api: client.ApiClient, ns: str) -> list[Verdict]:
    from kubernetes_asyncio import client  # noqa: PLC0415 - ~1 s to import: not before the first probe runs

    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    calls = {"pods": core.list_namespaced_pod, "events": core.list_namespaced_event,
             "services": core.list_namespaced_service, "endpoints": core.list_namespaced_endpoints,
             "secrets": core.list_namespaced_secret, "configmaps": core.list_namespaced_config_map,
             "jobs": batch.list_namespaced_job}  # fmt: skip
    got, failed = await list_all(calls, ns)
    errors = {resource: _api_failure(exc, resource) for resource, exc in failed.items()}
    if "pods" in errors:  # the API as a whole is not usable: one finding says why
        cause = errors["pods"]
        raise CannotObserveError(cause.code, cause.summary, subject=cause.subject, evidence=cause.evidence)
    counts: Evidence = {"namespace": ns, **{f"{res}_seen": len(items) for res, items in sorted(got.items())}}
    # Secret data is reduced to key names here and not kept.
    stores = {kind: {o.name: set(o.keys) for o in parse_each(KeyStore, got.pop(res))}
              for kind, res in (("secret", "secrets"), ("configmap", "configmaps")) if res in got}  # fmt: skip
    pods, jobs = parse_each(Pod, got["pods"]), parse_each(Job, got.get("jobs", []))
    out = [verdict for _, verdict in sorted(errors.items())]
    out += [o for pod in pods for o in pod_obs(pod)] + reference_obs(pods, stores)
    if "services" in got and "endpoints" in got:
        out += service_obs(parse_each(Service, got["services"]), parse_each(Endpoints, got["endpoints"]), pods)
    if "jobs" in got:
        out += await _job_obs(core, ns, jobs, pods) + absent_job_obs(jobs, pods)
    live = {("Pod", p.name): comp_of(p) for p in pods} | {("Job", j.name): comp_of(j) for j in jobs}
    uids = {("Pod", p.name): p.metadata.uid for p in pods} | {("Job", j.name): j.metadata.uid for j in jobs}
    events_ = event_obs(parse_each(Event, got.get("events", [])), live, uids, settled_since(pods, jobs))
    out, events = fold_events(out, events_)
    out += events
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
        raise CannotObserveError("k8s.not_configured", f"cannot read the cluster: {reason}", subject="api", evidence=ev)
    return [v.finding(ctx) for v in await _observe(api, ctx.targets.namespace)]
