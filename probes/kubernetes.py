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

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import aiohttp
import anyio
from kubernetes_asyncio import client

from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.registry import probe

CODES = (
    "k8s.not_configured",  # unknown: no Kubernetes API in the targets (or it could not be configured)
    "k8s.api_unreachable",  # unknown: the API refused, timed out or failed TLS
    "k8s.api_unauthorized",  # unknown: the API answered 401/403 (token, RBAC)
    "k8s.api_bad_response",  # unknown: the API answered 5xx, non-JSON, truncated or not a list
    "k8s.pod_config_error",  # fail: a container cannot be configured (CreateContainerConfigError, ...)
    "k8s.pod_crashloop",  # fail: a container is in CrashLoopBackOff
    "k8s.pod_image_pull",  # fail: an image cannot be pulled
    "k8s.pod_restarting",  # warn: a running container restarted RESTART_WARN+ times
    "k8s.pod_failed",  # fail: a pod that is not a Job's ended Failed
    "k8s.pod_pending",  # warn: a pod has not started (unschedulable, waiting)
    "k8s.pod_not_ready",  # warn: a pod runs but is not Ready
    "k8s.secret_missing",  # fail: a Secret a pod references does not exist
    "k8s.secret_key_missing",  # fail: the Secret exists but lacks the referenced key
    "k8s.configmap_missing",  # fail: a ConfigMap a pod references does not exist
    "k8s.configmap_key_missing",  # fail: the ConfigMap exists but lacks the referenced key
    "k8s.service_no_ready_endpoints",  # fail: a Service has no ready backend
    "k8s.hook_job_failed",  # fail: a (Helm hook) Job ended Failed
    "k8s.hook_job_incomplete",  # warn: a Job has neither completed nor failed (stuck, or still running)
    "k8s.hook_job_absent",  # warn (unknown when no hook Job is kept at all): an expected Floe init Job is missing
    "k8s.warning_event",  # warn: a Warning event about a live object, seen in the last EVENT_WINDOW_S
    "k8s.ok",  # ok: the API answers (subject api) / a component's pods, references, Services, Jobs are fine
)

REQUEST_TIMEOUT_S = 3.0
RESTART_WARN = 3
MAX_EVENTS = 30
EVENT_WINDOW_S = 900  # Warning events last seen longer ago are history (the API keeps them for an hour)
LOG_TAIL_LINES = 20
Json = dict[str, Any]

# fmt: off
_LABEL_COMPONENT = {  # app.kubernetes.io/component -> Floe component
    "postgresql-subchart": "postgres", "postgresql": "postgres", "localstack": "s3", "minio": "s3",
    "polaris": "polaris", "marquez": "marquez", "marquez-web": "marquez", "jaeger": "jaeger", "otel": "jaeger",
    "dagster-webserver": "dagster-webserver", "dagster-daemon": "dagster-daemon",
    "user-deployments": "dagster-user-code", "localstack-init": "s3", "polaris-init": "polaris",
    "polaris-bootstrap": "polaris", "seed-data": "iceberg", "migrate": "postgres",
}
_NAME_COMPONENT = (  # name fragment -> Floe component, first match wins
    ("user-deployments", "dagster-user-code"), ("migrate", "postgres"), ("dagster-webserver", "dagster-webserver"),
    ("daemon", "dagster-daemon"), ("localstack-init", "s3"), ("polaris-init", "polaris"), ("seed-data", "iceberg"),
    ("postgresql", "postgres"), ("localstack", "s3"), ("minio", "s3"), ("polaris", "polaris"),
    ("marquez", "marquez"), ("jaeger", "jaeger"), ("otel", "jaeger"), ("cube", "cube"),
)
# fmt: on
# Floe's init Jobs: (role: label value or name suffix, its component, the component whose pods mean "deployed")
_EXPECTED_JOBS = (
    ("localstack-init", "s3", "s3"),
    ("polaris-init", "polaris", "polaris"),
    ("seed-data", "iceberg", "polaris"),
    ("migrate", "postgres", "dagster-webserver"),
)
_CONFIG = frozenset({"CreateContainerConfigError", "CreateContainerError", "InvalidImageName", "RunContainerError"})
_IMAGE = frozenset({"ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull"})


class Obs(NamedTuple):
    """One observation, turned into a Finding at the end (keeps the checks free of the context)."""

    status: Status
    code: str
    summary: str
    component: str
    subject: str
    evidence: Json


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _dicts(obj: Any) -> list[Json]:
    return [x for x in obj if isinstance(x, dict)] if isinstance(obj, list) else []


def _name(obj: Json) -> str:
    return str(_get(obj, "metadata", "name"))


def component_of(labels: Any, name: str) -> str:
    """The Floe component an object belongs to, by its chart labels, else by its name; else ``kubernetes``."""
    labels = labels if isinstance(labels, dict) else {}
    role = str(labels.get("app.kubernetes.io/component", ""))
    if role in _LABEL_COMPONENT:
        return _LABEL_COMPONENT[role]
    if labels.get("app.kubernetes.io/name") == "cube" or name.startswith("floe-cube"):
        return "cube"
    if "deployment" in labels and "dagster" in f"{labels.get('app.kubernetes.io/name', '')}{name}":
        return "dagster-user-code"  # the Dagster chart labels user deployments deployment=<name>
    return next((comp for part, comp in _NAME_COMPONENT if part in name), "kubernetes")


def _comp(obj: Json) -> str:
    return component_of(_get(obj, "metadata", "labels"), _name(obj))


class KubeError(Exception):
    """A Kubernetes API call that gave no usable answer; ``code`` and ``evidence`` say why."""

    def __init__(self, code: str, reason: str, **evidence: Any) -> None:
        super().__init__(reason)
        self.code, self.evidence = code, {"reason": reason, **evidence}


async def _call(fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> bytes:
    """One API call, raw: the body of a 2xx answer, else KubeError naming the failure class."""
    try:
        with anyio.fail_after(REQUEST_TIMEOUT_S + 0.5):
            resp = await fn(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_S, **kwargs)
            try:
                body: bytes = await resp.read()
            finally:
                resp.release()
    except TimeoutError:
        raise KubeError("k8s.api_unreachable", f"no answer within {REQUEST_TIMEOUT_S:g}s", error="timeout") from None
    except aiohttp.ClientConnectorError as exc:
        tls = isinstance(exc, aiohttp.ClientSSLError) or "SSL" in str(exc)
        raise KubeError("k8s.api_unreachable", str(exc), error="tls" if tls else "connect") from None
    except (aiohttp.ClientError, ValueError) as exc:
        error = "truncated" if isinstance(exc, aiohttp.ClientPayloadError) else type(exc).__name__
        raise KubeError("k8s.api_bad_response", f"{type(exc).__name__}: {exc}", error=error) from None
    if 200 <= resp.status < 300:
        return body
    try:
        message = str(json.loads(body).get("message") or "")
    except (ValueError, AttributeError):
        message = body[:200].decode(errors="replace")
    code = "k8s.api_unauthorized" if resp.status in (401, 403) else "k8s.api_bad_response"
    raise KubeError(code, f"HTTP {resp.status} {message}".strip(), status=resp.status)


async def list_items(fn: Callable[..., Awaitable[Any]], namespace: str) -> list[Json]:
    """The ``items`` of a namespaced list call, as plain JSON; KubeError for anything that is not a list."""
    body = await _call(fn, namespace)
    try:
        data = json.loads(body)
    except ValueError:
        raise KubeError(
            "k8s.api_bad_response", "answer is not JSON", body=body[:200].decode("utf-8", "replace")
        ) from None
    if not isinstance(data, dict) or "items" not in data or not isinstance(data["items"] or [], list):
        raise KubeError("k8s.api_bad_response", "answer is not a Kubernetes list", body=str(data)[:200])
    return _dicts(data.get("items"))


def _pod_obs(pod: Json) -> list[Obs]:
    name, comp = _name(pod), _comp(pod)
    job_pod = any(o.get("kind") == "Job" for o in _dicts(_get(pod, "metadata", "ownerReferences")))
    out: list[Obs] = []
    for cs in _dicts(_get(pod, "status", "initContainerStatuses")) + _dicts(_get(pod, "status", "containerStatuses")):
        reason, message = _get(cs, "state", "waiting", "reason") or "", _get(cs, "state", "waiting", "message")
        restarts, last = int(cs.get("restartCount") or 0), _get(cs, "lastState", "terminated") or {}
        ev = {"pod": name, "container": cs.get("name"), "reason": reason, "message": message, "restarts": restarts}
        ev["last_exit"] = {k: last[k] for k in ("exitCode", "reason", "message") if k in last} or None
        subject = f"pod/{name}/{cs.get('name')}"
        if reason in _CONFIG:
            out.append(Obs(Status.FAIL, "k8s.pod_config_error", f"{subject}: {reason}: {message}", comp, subject, ev))
        elif reason == "CrashLoopBackOff":
            summary = f"{subject} is crash-looping ({restarts} restarts)"
            out.append(Obs(Status.FAIL, "k8s.pod_crashloop", summary, comp, subject, ev))
        elif reason in _IMAGE:
            out.append(Obs(Status.FAIL, "k8s.pod_image_pull", f"{subject}: {reason}: {message}", comp, subject, ev))
        elif restarts >= RESTART_WARN and not job_pod:
            out.append(
                Obs(Status.WARN, "k8s.pod_restarting", f"{subject} restarted {restarts} times", comp, subject, ev)
            )
    if out:
        return out
    phase = _get(pod, "status", "phase")
    conditions = {c.get("type"): c for c in _dicts(_get(pod, "status", "conditions"))}
    ev = {"pod": name, "phase": phase, "reason": _get(pod, "status", "reason")}
    ev["message"] = _get(pod, "status", "message")
    if phase == "Failed" and not job_pod:
        return [Obs(Status.FAIL, "k8s.pod_failed", f"pod {name} failed", comp, f"pod/{name}", ev)]
    if phase == "Pending":
        sched = conditions.get("PodScheduled") or {}
        ev.update(reason=sched.get("reason") or ev["reason"], message=sched.get("message") or ev["message"])
        return [Obs(Status.WARN, "k8s.pod_pending", f"pod {name} is pending", comp, f"pod/{name}", ev)]
    ready = conditions.get("Ready") or {}
    if phase == "Running" and ready.get("status") != "True":
        ev.update(reason=ready.get("reason"), message=ready.get("message"))
        return [Obs(Status.WARN, "k8s.pod_not_ready", f"pod {name} is running but not Ready", comp, f"pod/{name}", ev)]
    return []


def _references(pod: Json) -> list[tuple[str, str, str | None, str | None]]:
    """(kind, name, key or None, env var or None) of every non-optional Secret/ConfigMap the pod references."""
    spec, refs = pod.get("spec") or {}, []
    for ctr in _dicts(spec.get("initContainers")) + _dicts(spec.get("containers")):
        for env in _dicts(ctr.get("env")):
            for kind, field in (("secret", "secretKeyRef"), ("configmap", "configMapKeyRef")):
                ref = _get(env, "valueFrom", field)
                if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
                    refs.append((kind, str(ref["name"]), ref.get("key"), env.get("name")))
        for src in _dicts(ctr.get("envFrom")):
            for kind, field in (("secret", "secretRef"), ("configmap", "configMapRef")):
                ref = src.get(field)
                if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
                    refs.append((kind, str(ref["name"]), None, None))
    sources = _dicts(spec.get("volumes"))
    for src in sources + [s for v in sources for s in _dicts(_get(v, "projected", "sources"))]:
        for kind, field, name_key in (("secret", "secret", "secretName"), ("configmap", "configMap", "name")):
            vol = src.get(field)
            if isinstance(vol, dict) and vol.get(name_key) and not vol.get("optional"):
                keys = [i.get("key") for i in _dicts(vol.get("items"))] or [None]
                refs += [(kind, str(vol[name_key]), k, None) for k in keys]
    return refs + [
        ("secret", str(s["name"]), None, None) for s in _dicts(spec.get("imagePullSecrets")) if s.get("name")
    ]


def _reference_obs(pods: list[Json], stores: dict[str, dict[str, set[str]]]) -> list[Obs]:
    uses: dict[tuple[str, str, str, str | None], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for pod in pods:
        if _get(pod, "status", "phase") not in ("Succeeded", "Failed"):  # a finished pod got what it needed
            for kind, name, key, var in _references(pod):
                if kind in stores:
                    uses[(_comp(pod), kind, name, key)][0].add(_name(pod))
                    uses[(_comp(pod), kind, name, key)][1].update([var] if var else [])
    out = []
    for (comp, kind, name, key), (by_pod, env_vars) in sorted(uses.items(), key=str):
        keys = stores[kind].get(name)
        if keys is not None and (key is None or key in keys):
            continue
        label = "Secret" if kind == "secret" else "ConfigMap"
        pods_text, env = ", ".join(sorted(by_pod)), sorted(env_vars)
        summary = (f"{label} {name} referenced by {pods_text} does not exist" if keys is None
                   else f"{label} {name} has no key {key!r} (referenced by {pods_text})")  # fmt: skip
        code = f"k8s.{kind}_missing" if keys is None else f"k8s.{kind}_key_missing"
        ev = {f"{kind}_name": name, "key": key, "referenced_by": sorted(by_pod), "env_var": env[0] if env else None,
              "env_vars": env, "exists": keys is not None}  # fmt: skip
        out.append(Obs(Status.FAIL, code, summary, comp, f"{kind}/{name}:{key or '*'}", ev))
    return out


def _service_obs(services: list[Json], endpoints: list[Json], pods: list[Json]) -> list[Obs]:
    by_name, out = {_name(e): e for e in endpoints}, []
    for svc in services:
        name, selector = _name(svc), _get(svc, "spec", "selector")
        if not isinstance(selector, dict) or not selector or _get(svc, "spec", "type") == "ExternalName":
            continue
        subsets = _dicts(_get(by_name.get(name), "subsets"))
        if any(_dicts(s.get("addresses")) for s in subsets):
            continue
        not_ready = [_get(a, "targetRef", "name") for s in subsets for a in _dicts(s.get("notReadyAddresses"))]
        labels = [(_name(p), _get(p, "metadata", "labels") or {}) for p in pods]
        selected = [n for n, lbl in labels if all(lbl.get(k) == v for k, v in selector.items())]
        why = (
            f"{len(not_ready)} not ready"
            if not_ready
            else "selector matches no pod"
            if not selected
            else "no addresses"
        )
        ev = {"service": name, "ports": [p.get("port") for p in _dicts(_get(svc, "spec", "ports"))],
              "not_ready_pods": not_ready, "selected_pods": selected, "endpoints_object": name in by_name}  # fmt: skip
        out.append(Obs(Status.FAIL, "k8s.service_no_ready_endpoints", f"Service {name} has no ready endpoints ({why})",
                       _comp(svc), f"service/{name}", ev))  # fmt: skip
    return out


async def _job_log(core: Any, namespace: str, pod: Json) -> Json:
    """The tail of a Job pod's log (the lab may answer 400 or nothing: that is said, not hidden)."""
    containers = _dicts(_get(pod, "spec", "containers"))
    kwargs = {"container": containers[0].get("name")} if containers else {}
    try:
        body = await _call(core.read_namespaced_pod_log, _name(pod), namespace, tail_lines=LOG_TAIL_LINES, **kwargs)
    except KubeError as exc:
        return {"log": None, "log_error": exc.evidence["reason"]}
    return {"log": body.decode("utf-8", "replace")[-2000:] or None}


async def _job_obs(core: Any, namespace: str, jobs: list[Json], pods: list[Json]) -> list[Obs]:
    out = []
    for job in jobs:
        meta, status = job.get("metadata") or {}, job.get("status") or {}
        conds = {c.get("type"): c for c in _dicts(status.get("conditions")) if c.get("status") == "True"}
        if "Complete" in conds:
            continue
        owned = [
            p
            for p in pods
            if any(o.get("uid") == meta.get("uid") for o in _dicts(_get(p, "metadata", "ownerReferences")))
        ]
        owned.sort(key=lambda p: str(_get(p, "metadata", "creationTimestamp")))
        first = [(_dicts(_get(p, "status", "containerStatuses")) or [{}])[0] for p in owned]
        states = [{"pod": _name(p), "phase": _get(p, "status", "phase"), "state": c.get("state")}
                  for p, c in zip(owned, first, strict=True)]  # fmt: skip
        ev: Json = {"job": _name(job), "helm_hook": _get(meta, "annotations", "helm.sh/hook"),
                    "active": status.get("active", 0), "failed": status.get("failed", 0), "pods": states}  # fmt: skip
        subject = f"job/{_name(job)}"
        if "Failed" in conds:
            ev.update(reason=conds["Failed"].get("reason"), message=conds["Failed"].get("message"))
            ev.update(await _job_log(core, namespace, owned[-1]) if owned else {"log": None})
            summary = f"Job {_name(job)} failed ({ev['reason']})"
            out.append(Obs(Status.FAIL, "k8s.hook_job_failed", summary, _comp(job), subject, ev))
        else:
            summary = f"Job {_name(job)} has not completed"
            out.append(Obs(Status.WARN, "k8s.hook_job_incomplete", summary, _comp(job), subject, ev))
    return out


def _absent_job_obs(jobs: list[Json], pods: list[Json]) -> list[Obs]:
    deployed = {_comp(p) for p in pods}
    have = [(str(_get(j, "metadata", "labels", "app.kubernetes.io/component") or ""), _name(j)) for j in jobs]
    kept = any(_get(j, "metadata", "annotations", "helm.sh/hook") for j in jobs)
    out = []
    for role, comp, anchor in _EXPECTED_JOBS:
        if anchor in deployed and not any(role == label or name.endswith(role) for label, name in have):
            note = "other hook Jobs are kept, so it never ran" if kept else "it may have been deleted after it ran"
            ev = {"expected_role": role, "other_hook_jobs_kept": kept, "jobs": sorted(n for _, n in have)}
            out.append(Obs(Status.WARN if kept else Status.UNKNOWN, "k8s.hook_job_absent",
                           f"no {role} Job in the namespace ({note})", comp, f"job/*{role}", ev))  # fmt: skip
    return out


def _stale(when: str, now: datetime) -> bool:
    try:
        return (now - datetime.fromisoformat(when)).total_seconds() > EVENT_WINDOW_S
    except (ValueError, TypeError):
        return False  # no usable time: keep it


def _event_obs(events: list[Json], live: dict[tuple[str, str], str]) -> list[Obs]:
    grouped: dict[tuple[str, str, str], Json] = {}
    now = datetime.now(UTC)
    for e in events:
        kind, name = str(_get(e, "involvedObject", "kind")), str(_get(e, "involvedObject", "name"))
        when = str(e.get("lastTimestamp") or e.get("eventTime") or _get(e, "metadata", "creationTimestamp") or "")
        if e.get("type") != "Warning" or (kind in ("Pod", "Job") and (kind, name) not in live) or _stale(when, now):
            continue  # Normal, about an object that is gone, or old: history, not the present
        g = grouped.setdefault((kind, name, str(e.get("reason"))), {"count": 0, "last_seen": ""})
        g["count"] += int(e.get("count") or _get(e, "series", "count") or 1)
        g.update(message=e.get("message"), last_seen=max(g["last_seen"], when))
    ranked = sorted(grouped.items(), key=lambda kv: (-kv[1]["count"], kv[0]))[:MAX_EVENTS]
    return [Obs(Status.WARN, "k8s.warning_event", f"{kind} {name}: {reason}: {g['message']} (x{g['count']})",
                live.get((kind, name)) or component_of({}, name), f"event/{kind}/{name}/{reason}",
                {"reason": reason, "message": g["message"], "count": g["count"],
                 "involved_object": {"kind": kind, "name": name}, "last_seen": g["last_seen"]})
            for (kind, name, reason), g in ranked]  # fmt: skip


def _ok_obs(found: list[Obs], pods: list[Json], jobs: list[Json], counts: Json) -> list[Obs]:
    troubled = {o.component for o in found if o.status is not Status.OK}
    by_comp: dict[str, Json] = defaultdict(lambda: {"pods": [], "jobs": []})
    for kind, objs in (("pods", pods), ("jobs", jobs)):
        for obj in objs:
            by_comp[_comp(obj)][kind].append(_name(obj))
    out = [Obs(Status.OK, "k8s.ok", "the Kubernetes API answers", "kubernetes", "api", counts)]
    out += [Obs(Status.OK, "k8s.ok", f"{comp}: {len(v['pods'])} pod(s), {len(v['jobs'])} Job(s), all fine", comp,
                "workloads", {"pods": sorted(v["pods"]), "jobs": sorted(v["jobs"])})
            for comp, v in sorted(by_comp.items()) if comp not in troubled]  # fmt: skip
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
    stores = {kind: {_name(o): {*(o.get("data") or {}), *(o.get("binaryData") or {})} for o in got.pop(res)}
              for kind, res in (("secret", "secrets"), ("configmap", "configmaps")) if res in got}  # fmt: skip
    pods, jobs = got["pods"], got.get("jobs", [])
    out = [_api_obs(exc, resource) for resource, exc in sorted(errors.items())]
    out += [o for pod in pods for o in _pod_obs(pod)] + _reference_obs(pods, stores)
    if "services" in got and "endpoints" in got:
        out += _service_obs(got["services"], got["endpoints"], pods)
    if "jobs" in got:
        out += await _job_obs(core, ns, jobs, pods) + _absent_job_obs(jobs, pods)
    live = {("Pod", _name(p)): _comp(p) for p in pods} | {("Job", _name(j)): _comp(j) for j in jobs}
    out += _event_obs(got.get("events", []), live)
    return out + _ok_obs(out, pods, jobs, counts)


@probe("kubernetes", components=["kubernetes"], timeout=12.0, description="Pods, events, references, Services, Jobs")
async def kubernetes(ctx: ProbeContext) -> list[Finding]:
    """Read the Floe namespace and report each workload's Kubernetes-level problems under its component."""
    if ctx.services.kube is None:
        reason = ctx.services.kube_error or "the targets configure no Kubernetes API (kubernetes.mode: none)"
        ev = {"reason": reason, "mode": ctx.targets.kubernetes.mode}
        return [ctx.finding(Status.UNKNOWN, "k8s.not_configured", f"cannot read the cluster: {reason}", subject="api",
                            evidence=ev)]  # fmt: skip
    observed = await _observe(ctx.services.kube, ctx.targets.namespace)
    return [ctx.finding(o.status, o.code, o.summary, component=o.component, subject=o.subject, evidence=o.evidence)
            for o in observed]  # fmt: skip
