"""What Kubernetes objects, read as plain JSON, say about each Floe workload: one observation per problem.

Kept apart from the probe (which owns the API calls) so each rule about pods, references, Services, Jobs and
events is a pure function of the objects: easy to test, and no answer, however odd, can raise here. Two choices
keep the report about causes rather than echoes: a missing Secret is one observation however many pods reference
it (listing their components), and a Warning event about an object already reported as broken becomes evidence
of that observation instead of a second one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, NamedTuple

from floe_agents.findings import Severity, Status

RESTART_WARN = 3
MAX_EVENTS = 30
EVENT_WINDOW_S = 900  # Warning events last seen longer ago are history (the API keeps them for an hour)
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
    severity: Severity | None = None  # None: the status's default


def get(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def dicts(obj: Any) -> list[Json]:
    return [x for x in obj if isinstance(x, dict)] if isinstance(obj, list) else []


def name_of(obj: Json) -> str:
    return str(get(obj, "metadata", "name"))


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


def comp_of(obj: Json) -> str:
    return component_of(get(obj, "metadata", "labels"), name_of(obj))


def pod_obs(pod: Json) -> list[Obs]:
    name, comp = name_of(pod), comp_of(pod)
    job_pod = any(o.get("kind") == "Job" for o in dicts(get(pod, "metadata", "ownerReferences")))
    out: list[Obs] = []
    for cs in dicts(get(pod, "status", "initContainerStatuses")) + dicts(get(pod, "status", "containerStatuses")):
        reason, message = get(cs, "state", "waiting", "reason") or "", get(cs, "state", "waiting", "message")
        restarts, last = int(cs.get("restartCount") or 0), get(cs, "lastState", "terminated") or {}
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
    phase = get(pod, "status", "phase")
    conditions = {c.get("type"): c for c in dicts(get(pod, "status", "conditions"))}
    ev = {"pod": name, "phase": phase, "reason": get(pod, "status", "reason")}
    ev["message"] = get(pod, "status", "message")
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
    for ctr in dicts(spec.get("initContainers")) + dicts(spec.get("containers")):
        for env in dicts(ctr.get("env")):
            for kind, field in (("secret", "secretKeyRef"), ("configmap", "configMapKeyRef")):
                ref = get(env, "valueFrom", field)
                if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
                    refs.append((kind, str(ref["name"]), ref.get("key"), env.get("name")))
        for src in dicts(ctr.get("envFrom")):
            for kind, field in (("secret", "secretRef"), ("configmap", "configMapRef")):
                ref = src.get(field)
                if isinstance(ref, dict) and ref.get("name") and not ref.get("optional"):
                    refs.append((kind, str(ref["name"]), None, None))
    sources = dicts(spec.get("volumes"))
    for src in sources + [s for v in sources for s in dicts(get(v, "projected", "sources"))]:
        for kind, field, name_key in (("secret", "secret", "secretName"), ("configmap", "configMap", "name")):
            vol = src.get(field)
            if isinstance(vol, dict) and vol.get(name_key) and not vol.get("optional"):
                keys = [i.get("key") for i in dicts(vol.get("items"))] or [None]
                refs += [(kind, str(vol[name_key]), k, None) for k in keys]
    return refs + [("secret", str(s["name"]), None, None) for s in dicts(spec.get("imagePullSecrets")) if s.get("name")]


def reference_obs(pods: list[Json], stores: dict[str, dict[str, set[str]]]) -> list[Obs]:
    """One observation per missing Secret/ConfigMap (or key), filed under the first component referencing it."""
    uses: dict[tuple[str, str, str | None], tuple[set[str], set[str], set[str]]] = defaultdict(
        lambda: (set(), set(), set())
    )
    for pod in pods:
        if get(pod, "status", "phase") not in ("Succeeded", "Failed"):  # a finished pod got what it needed
            for kind, name, key, var in _references(pod):
                if kind in stores:
                    by_pod, comps, env_vars = uses[(kind, name, key)]
                    by_pod.add(name_of(pod))
                    comps.add(comp_of(pod))
                    env_vars.update([var] if var else [])
    out = []
    for (kind, name, key), (by_pod, comps, env_vars) in sorted(uses.items(), key=str):
        keys = stores[kind].get(name)
        if keys is not None and (key is None or key in keys):
            continue
        label = "Secret" if kind == "secret" else "ConfigMap"
        pods_text, env, components = ", ".join(sorted(by_pod)), sorted(env_vars), sorted(comps)
        summary = (f"{label} {name} referenced by {pods_text} does not exist" if keys is None
                   else f"{label} {name} has no key {key!r} (referenced by {pods_text})")  # fmt: skip
        code = f"k8s.{kind}_missing" if keys is None else f"k8s.{kind}_key_missing"
        ev = {f"{kind}_name": name, "key": key, "referenced_by": sorted(by_pod), "components": components,
              "env_var": env[0] if env else None, "env_vars": env, "exists": keys is not None}  # fmt: skip
        # Critical: no container that needs it can even be created, so nothing those pods serve exists.
        out.append(Obs(Status.FAIL, code, summary, components[0], f"{kind}/{name}/{key or '*'}", ev, Severity.CRITICAL))
    return out


def service_obs(services: list[Json], endpoints: list[Json], pods: list[Json]) -> list[Obs]:
    by_name, out = {name_of(e): e for e in endpoints}, []
    for svc in services:
        name, selector = name_of(svc), get(svc, "spec", "selector")
        if not isinstance(selector, dict) or not selector or get(svc, "spec", "type") == "ExternalName":
            continue
        subsets = dicts(get(by_name.get(name), "subsets"))
        if any(dicts(s.get("addresses")) for s in subsets):
            continue
        not_ready = [get(a, "targetRef", "name") for s in subsets for a in dicts(s.get("notReadyAddresses"))]
        labels = [(name_of(p), get(p, "metadata", "labels") or {}) for p in pods]
        selected = [n for n, lbl in labels if all(lbl.get(k) == v for k, v in selector.items())]
        why = (
            f"{len(not_ready)} not ready"
            if not_ready
            else "selector matches no pod"
            if not selected
            else "no addresses"
        )
        ev = {"service": name, "ports": [p.get("port") for p in dicts(get(svc, "spec", "ports"))],
              "not_ready_pods": not_ready, "selected_pods": selected, "endpoints_object": name in by_name}  # fmt: skip
        out.append(Obs(Status.FAIL, "k8s.service_no_ready_endpoints", f"Service {name} has no ready endpoints ({why})",
                       comp_of(svc), f"service/{name}", ev))  # fmt: skip
    return out


def absent_job_obs(jobs: list[Json], pods: list[Json]) -> list[Obs]:
    deployed = {comp_of(p) for p in pods}
    have = [(str(get(j, "metadata", "labels", "app.kubernetes.io/component") or ""), name_of(j)) for j in jobs]
    kept = any(get(j, "metadata", "annotations", "helm.sh/hook") for j in jobs)
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


def event_obs(events: list[Json], live: dict[tuple[str, str], str]) -> list[Obs]:
    grouped: dict[tuple[str, str, str], Json] = {}
    now = datetime.now(UTC)
    for e in events:
        kind, name = str(get(e, "involvedObject", "kind")), str(get(e, "involvedObject", "name"))
        when = str(e.get("lastTimestamp") or e.get("eventTime") or get(e, "metadata", "creationTimestamp") or "")
        if e.get("type") != "Warning" or (kind in ("Pod", "Job") and (kind, name) not in live) or _stale(when, now):
            continue  # Normal, about an object that is gone, or old: history, not the present
        g = grouped.setdefault((kind, name, str(e.get("reason"))), {"count": 0, "last_seen": ""})
        g["count"] += int(e.get("count") or get(e, "series", "count") or 1)
        g.update(message=e.get("message"), last_seen=max(g["last_seen"], when))
    ranked = sorted(grouped.items(), key=lambda kv: (-kv[1]["count"], kv[0]))[:MAX_EVENTS]
    return [Obs(Status.WARN, "k8s.warning_event", f"{kind} {name}: {reason}: {g['message']} (x{g['count']})",
                live.get((kind, name)) or component_of({}, name), f"event/{kind}/{name}/{reason}",
                {"reason": reason, "message": g["message"], "count": g["count"],
                 "involved_object": {"kind": kind, "name": name}, "last_seen": g["last_seen"]})
            for (kind, name, reason), g in ranked]  # fmt: skip


def fold_events(found: list[Obs], events: list[Obs]) -> list[Obs]:
    """Attach each Warning event about a Pod or Job already observed as broken to that observation's evidence;
    return the events about anything else (they stand on their own)."""
    owners: dict[tuple[str, str], Obs] = {}
    for o in found:
        if o.status is not Status.OK:
            if o.subject.startswith("job/"):
                owners.setdefault(("Job", o.subject.removeprefix("job/")), o)
            elif isinstance(o.evidence.get("pod"), str):
                owners.setdefault(("Pod", o.evidence["pod"]), o)
    rest = []
    for e in events:
        involved = e.evidence["involved_object"]
        owner = owners.get((involved["kind"], involved["name"]))
        if owner is None:
            rest.append(e)
        else:
            seen = {k: e.evidence[k] for k in ("reason", "message", "count", "last_seen")}
            owner.evidence.setdefault("warning_events", []).append(seen)
    return rest


def ok_obs(found: list[Obs], pods: list[Json], jobs: list[Json], counts: Json) -> list[Obs]:
    troubled = {o.component for o in found if o.status is not Status.OK}
    by_comp: dict[str, Json] = defaultdict(lambda: {"pods": [], "jobs": []})
    for kind, objs in (("pods", pods), ("jobs", jobs)):
        for obj in objs:
            by_comp[comp_of(obj)][kind].append(name_of(obj))
    out = [Obs(Status.OK, "k8s.ok", "the Kubernetes API answers", "kubernetes", "api", counts)]
    out += [Obs(Status.OK, "k8s.ok", f"{comp}: {len(v['pods'])} pod(s), {len(v['jobs'])} Job(s), all fine", comp,
                "workloads", {"pods": sorted(v["pods"]), "jobs": sorted(v["jobs"])})
            for comp, v in sorted(by_comp.items()) if comp not in troubled]  # fmt: skip
    return out
