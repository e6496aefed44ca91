"""Kubernetes: what the cluster itself says about each Floe workload, filed under that workload's component.

The seed's blockers were visible to `kubectl` long before anyone read a log: pods stuck in
CreateContainerConfigError on a Secret that was never created, a hook Job that failed or never ran, a Service
with no ready backends. So this probe reads the namespace (pods, Warning events, the Secrets pods reference (by
name, never listed) and the ConfigMaps, Services and their Endpoints, Jobs, and the log tail of each container
that does not run) and files each finding under the component the object belongs to (its labels and owners, else
its name), so root-cause analysis sees "dagster-webserver cannot start: Secret floe-dagster-postgresql-secret
missing" at the right node, and a crash-looping pod says why it does not run (out of memory, permission denied,
a missing module, bad arguments, a config line). Objects are read as plain JSON (no client models), so a garbage
answer is a finding, never a traceback; Secret data is reduced to key names as soon as it arrives.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import anyio

from floe_agents.context import ProbeContext
from floe_agents.findings import CannotObserveError, Finding, Status
from floe_agents.probes._kube_api import KubeError, list_all
from floe_agents.probes._kube_components import KNOWN, comp_of, component_of
from floe_agents.probes._kube_objects import (
    Evidence,
    absent_job_obs,
    event_obs,
    fold_events,
    ok_obs,
    pod_obs,
    service_obs,
    settled_since,
)
from floe_agents.probes._kube_refs import Stores, empty_vars, optional_obs, read_secrets, reference_obs, referenced
from floe_agents.probes._kube_scaled import scaled_obs
from floe_agents.probes._kube_workloads import LogKey, LogTail, job_obs, log_keys, not_ours, read_logs
from floe_agents.probes._models.kube import Deployment, Endpoints, Event, Job, KeyStore, Pod, Service
from floe_agents.probes._models.lenient import parse_each
from floe_agents.probes._verdict import Verdict
from floe_agents.registry import probe

if TYPE_CHECKING:
    from kubernetes_asyncio import client

__all__ = ["CODES", "FIXES", "KubeError", "component_of", "kubernetes"]

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
    "k8s.optional_ref_unresolved": "warn: an optional Secret/ConfigMap (key) does not exist: an env var left unset or "
    "a mount left empty (evidence: env_var, mounts)",
    "k8s.service_no_ready_endpoints": "fail: a Service has no ready backend",
    "k8s.workload_scaled_to_zero": "fail: a platform Deployment/StatefulSet is scaled to 0 replicas",
    "k8s.service_target_port_undeclared": "fail: a Service sends a port to a container port its pods do not declare",
    "k8s.hook_job_failed": "fail: a (Helm hook) Job ended Failed",
    "k8s.hook_job_incomplete": "warn: a Job has neither completed nor failed (stuck, or still running)",
    "k8s.hook_job_absent": "warn (unknown when no hook Job is kept at all): an expected Floe init Job is missing",
    "k8s.warning_event": "warn: a Warning event about a live object, seen in the last EVENT_WINDOW_S",
    "k8s.ok": "ok: the API answers (subject api) / a component's pods, references, Services, Jobs are fine",
}

# The step each failure takes when no rule explains it (a crash whose log says nothing classifiable, a Service
# nothing backs): the fallback root cause shows it. Rules' placeholders only; no deployment's names.
FIXES = {
    "k8s.pod_config_error": "The container cannot be created ({evidence.message}): fix what it names in the pod's "
    "spec or the object it references; kubectl -n {namespace} describe pod {evidence.pod}.",
    "k8s.pod_crashloop": "Read why it exits: kubectl -n {namespace} logs {evidence.pod} -c {evidence.container} "
    "--previous, and kubectl -n {namespace} describe pod {evidence.pod} (Last State, Events).",
    "k8s.pod_image_pull": "Fix the image reference, or give the pod an imagePullSecret for a private registry "
    "({evidence.message}); kubectl -n {namespace} describe pod {evidence.pod}.",
    "k8s.pod_failed": "Read why it failed: kubectl -n {namespace} describe pod {evidence.pod}; kubectl -n {namespace} "
    "logs {evidence.pod}.",
    "k8s.workload_scaled_to_zero": "Scale it back up: kubectl -n {namespace} scale {evidence.workload} --replicas=1 "
    "(or the chart's value); kubectl -n {namespace} get events and your deploy history say who scaled it down.",
    "k8s.service_target_port_undeclared": "Point port {evidence.port} of Service {evidence.service} at a port its "
    "pods declare ({evidence.declared_ports}): kubectl -n {namespace} edit service {evidence.service} (targetPort).",
    "k8s.service_no_ready_endpoints": "Make the pods behind Service {evidence.service} run and pass their readiness "
    "probe (kubectl -n {namespace} get pods -o wide), or make its selector match them (kubectl -n {namespace} get "
    "endpoints {evidence.service}).",
}


def _api_failure(exc: KubeError, resource: str, verb: str = "listing", names: list[str] | None = None) -> Verdict:
    what = {"k8s.api_unreachable": "unreachable", "k8s.api_unauthorized": "refused us"}.get(exc.code, "answered badly")
    summary = f"Kubernetes API {what} {verb} {resource}: {exc}"
    ev: Evidence = {**exc.evidence, "resource": resource, **({"names": names} if names else {})}
    return Verdict(Status.UNKNOWN, exc.code, summary, ev, subject=f"api/{resource}", component="kubernetes")


async def _observe(api: client.ApiClient, ns: str, known: frozenset[str]) -> list[Verdict]:
    from kubernetes_asyncio import client  # noqa: PLC0415 - ~1 s to import: not before the first probe runs

    core, batch, apps = client.CoreV1Api(api), client.BatchV1Api(api), client.AppsV1Api(api)
    calls = {"pods": core.list_namespaced_pod, "events": core.list_namespaced_event,
             "services": core.list_namespaced_service, "endpoints": core.list_namespaced_endpoints,
             "configmaps": core.list_namespaced_config_map, "jobs": batch.list_namespaced_job,
             "deployments": apps.list_namespaced_deployment,
             "statefulsets": apps.list_namespaced_stateful_set}  # fmt: skip
    got, failed = await list_all(calls, ns)
    errors = {resource: _api_failure(exc, resource) for resource, exc in failed.items()}
    if "pods" in errors:  # the API as a whole is not usable: one finding says why
        cause = errors["pods"]
        raise CannotObserveError(cause.code, cause.summary, subject=cause.subject, evidence=cause.evidence)
    where = functools.partial(comp_of, known=known)
    pods, jobs = not_ours(parse_each(Pod, got["pods"]), parse_each(Job, got.get("jobs", [])))
    failed_jobs = [j for j in jobs if any(c.type == "Failed" and c.status == "True" for c in j.status.conditions)]
    logs: dict[LogKey, LogTail] = {}

    async def read_logs_meanwhile() -> None:
        logs.update(await read_logs(core, ns, log_keys(pods, failed_jobs)))

    async with anyio.create_task_group() as tg:  # the logs and the Secrets at once: one round trip, not two
        tg.start_soon(read_logs_meanwhile)
        # Secrets are read by name (the ones pods reference), never listed; their data is reduced to key names.
        secrets, missing, unread = await read_secrets(core, ns, referenced(pods, "secret"))
    if unread:
        first = unread[min(unread)]
        errors["secrets"] = _api_failure(first, "secrets", "reading", sorted(unread))
    workloads = {
        kind: parse_each(Deployment, got.pop(f"{kind}s")) for kind in ("deployment", "statefulset") if f"{kind}s" in got
    }  # fmt: skip - read for their replicas only (scaled_obs), not counted
    counts: Evidence = {"namespace": ns, **{f"{res}_seen": len(items) for res, items in sorted(got.items())}}
    counts |= {} if unread else {"secrets_seen": len(secrets)}
    configmaps = parse_each(KeyStore, got.pop("configmaps")) if "configmaps" in got else None
    listed = {"configmap": {c.name: c.keys for c in configmaps}} if configmaps is not None else {}
    stores = Stores({"secret": secrets, **listed}, {"secret": missing}, frozenset(listed))
    unset = empty_vars(pods, stores)
    out = [verdict for _, verdict in sorted(errors.items())]
    out += [o for pod in pods for o in pod_obs(pod, logs, unset, where)]
    out += reference_obs(pods, stores, where) + optional_obs(pods, stores, where)
    if "services" in got and "endpoints" in got:
        services, endpoints = parse_each(Service, got["services"]), parse_each(Endpoints, got["endpoints"])
        out += service_obs(services, endpoints, pods, where)
    out += scaled_obs(workloads, known)
    if "jobs" in got:
        out += job_obs(jobs, pods, logs, where) + absent_job_obs(jobs, pods, where)
    live = {("Pod", p.name): where(p) for p in pods} | {("Job", j.name): where(j) for j in jobs}
    uids = {("Pod", p.name): p.metadata.uid for p in pods} | {("Job", j.name): j.metadata.uid for j in jobs}
    events_ = event_obs(parse_each(Event, got.get("events", [])), live, uids, settled_since(pods, jobs))
    out, events = fold_events(out, events_)
    out += events
    return out + ok_obs(out, pods, jobs, counts, where)


@probe(
    "kubernetes",
    components=["kubernetes"],
    timeout=12.0,
    description="Pods, events, references, Services, Jobs",
    codes=CODES,
    fixes=FIXES,
    public_evidence=("missing_secrets", "secret_keys"),  # Secret names and key names, never their values
)
async def kubernetes(ctx: ProbeContext) -> list[Finding]:
    """Read the Floe namespace and report each workload's Kubernetes-level problems under its component."""
    api, kube_error = await ctx.services.kube.get()
    if api is None:
        reason = kube_error or "the targets configure no Kubernetes API (kubernetes.mode: none)"
        ev = {"reason": reason, "mode": ctx.targets.kubernetes.mode}
        raise CannotObserveError("k8s.not_configured", f"cannot read the cluster: {reason}", subject="api", evidence=ev)
    known = KNOWN | frozenset(ctx.targets.components)  # a label naming a component of the run is taken as it is
    return [v.finding(ctx) for v in await _observe(api, ctx.targets.namespace, known)]
