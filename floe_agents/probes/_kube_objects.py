"""What Kubernetes objects say about each Floe workload: one verdict per problem, filed under its component.

Kept apart from the probe (which owns the API calls) so each rule about pods, Services, init Jobs and events is a
pure function of the typed objects (:mod:`floe_agents.probes._models.kube`): easy to test, and no answer, however
odd, can raise here. A failing container's verdict says why it does not run when its state and log tell
(:mod:`._kube_workloads`); references to Secrets and ConfigMaps are judged in :mod:`._kube_refs`, and which
component an object belongs to is :mod:`._kube_components`'s call. A Warning event about an object already
reported as broken becomes evidence of that verdict instead of a second one, so the report is about causes, not
echoes.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import UTC, datetime

from floe_agents.findings import Status
from floe_agents.probes._kube_api import Json, dicts, get, name_of  # the emitters probe reads plain JSON still
from floe_agents.probes._kube_components import Where, comp_of, component_of
from floe_agents.probes._kube_workloads import RESTART_WARN, LogKey, LogTail, because, diagnosis_of, failing
from floe_agents.probes._models.kube import Endpoints, Event, Job, Pod, Service
from floe_agents.probes._verdict import Verdict
from floe_agents.topology import FLOE_COMPONENTS

MAX_EVENTS = 30
EVENT_WINDOW_S = 900  # Warning events last seen longer ago are history (the API keeps them for an hour)
# The charts' init Jobs, from the topology: (role: label value or name suffix, its component, the component whose
# pods mean "deployed").
_EXPECTED_JOBS = tuple((job.role, spec.name, job.deployed_with) for spec in FLOE_COMPONENTS for job in spec.init_jobs)
_CONFIG = frozenset({"CreateContainerConfigError", "CreateContainerError", "InvalidImageName", "RunContainerError"})
_IMAGE = frozenset({"ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull"})
Evidence = dict[str, object]
EmptyVars = Mapping[tuple[str, str], Collection[str]]


def _verdict(status: Status, code: str, summary: str, component: str, subject: str, ev: Evidence) -> Verdict:  # noqa: PLR0917
    return Verdict(status, code, summary, ev, subject=subject, component=component)


def pod_obs(
    pod: Pod, logs: Mapping[LogKey, LogTail] | None = None, empty: EmptyVars | None = None, where: Where = comp_of
) -> list[Verdict]:
    """The pod's problems, each failing container's with why it does not run (:mod:`._kube_workloads`) when its
    state and log say; ``logs``: the tails read for it; ``empty``: its env vars optional references left unset."""
    name, comp = pod.name, where(pod)
    job_pod = any(o.kind == "Job" for o in pod.metadata.owner_references)
    why = functools.partial(diagnosis_of, pod, logs or {}, empty or {})
    out: list[Verdict] = []
    for cs in pod.status.init_container_statuses + pod.status.container_statuses:
        reason, message, restarts = cs.waiting.reason or "", cs.waiting.message, cs.restart_count or 0
        last = cs.last_state.terminated
        ev: Evidence = {"pod": name, "container": cs.name, "reason": reason, "message": message, "restarts": restarts}
        fields = {"exit_code", "reason", "message"}
        ev["last_exit"] = (last.model_dump(by_alias=True, exclude_unset=True, include=fields) if last else {}) or None
        subject = f"pod/{name}/{cs.name}"
        if reason in _CONFIG:
            summary = f"{subject}: {reason}: {message}"
            out.append(_verdict(Status.FAIL, "k8s.pod_config_error", summary, comp, subject, ev | why(cs)))
        elif reason == "CrashLoopBackOff":
            found = why(cs)
            summary = f"{subject} is crash-looping ({restarts} restarts){because(found)}"
            out.append(_verdict(Status.FAIL, "k8s.pod_crashloop", summary, comp, subject, ev | found))
        elif reason in _IMAGE:
            summary = f"{subject}: {reason}: {message}"
            out.append(_verdict(Status.FAIL, "k8s.pod_image_pull", summary, comp, subject, ev | why(cs)))
        elif restarts >= RESTART_WARN and not job_pod:
            found = why(cs)
            summary = f"{subject} restarted {restarts} times{because(found)}"
            out.append(_verdict(Status.WARN, "k8s.pod_restarting", summary, comp, subject, ev | found))
    if out:
        return out
    phase, status = pod.status.phase, pod.status
    conditions = {c.type: c for c in status.conditions}
    ev = {"pod": name, "phase": phase, "reason": status.reason, "message": status.message}
    if phase == "Failed" and not job_pod:
        exited = failing(pod)
        found = {"container": exited.name, **why(exited)} if exited is not None else {}
        summary = f"pod {name} failed{because(found)}"
        return [_verdict(Status.FAIL, "k8s.pod_failed", summary, comp, f"pod/{name}", ev | found)]
    if phase == "Pending":
        sched = conditions.get("PodScheduled")
        if sched is not None:
            ev.update(reason=sched.reason or ev["reason"], message=sched.message or ev["message"])
        return [_verdict(Status.WARN, "k8s.pod_pending", f"pod {name} is pending", comp, f"pod/{name}", ev)]
    ready = conditions.get("Ready")
    if phase == "Running" and (ready.status if ready else None) != "True":
        ev.update(reason=ready.reason if ready else None, message=ready.message if ready else None)
        summary = f"pod {name} is running but not Ready"
        return [_verdict(Status.WARN, "k8s.pod_not_ready", summary, comp, f"pod/{name}", ev)]
    return []


def service_obs(
    services: list[Service], endpoints: list[Endpoints], pods: list[Pod], where: Where = comp_of
) -> list[Verdict]:
    by_name, out = {e.name: e for e in endpoints}, []
    for svc in services:
        name, selector = svc.name, svc.spec.selector
        if not selector or svc.spec.type == "ExternalName":
            continue
        subsets = by_name[name].subsets if name in by_name else []
        chosen = [p for p in pods if all(p.metadata.labels.get(k) == v for k, v in selector.items())]
        selected = [p.name for p in chosen]
        if any(s.addresses for s in subsets):
            out += _undeclared_target_ports(svc, chosen, where)
            continue
        not_ready = [a.target_ref.name for s in subsets for a in s.not_ready_addresses]
        why = (
            f"{len(not_ready)} not ready"
            if not_ready
            else "selector matches no pod"
            if not selected
            else "no addresses"
        )
        ev: Evidence = {"service": name, "ports": svc.ports, "not_ready_pods": not_ready, "selected_pods": selected,
                        "endpoints_object": name in by_name}  # fmt: skip
        summary = f"Service {name} has no ready endpoints ({why})"
        out.append(_verdict(Status.FAIL, "k8s.service_no_ready_endpoints", summary, where(svc), f"service/{name}", ev))
    return out


def _undeclared_target_ports(svc: Service, chosen: list[Pod], where: Where) -> list[Verdict]:
    """A Service port sent to a container port that none of the pods it selects declares, while they declare
    others: a named one gives no endpoint, a number one that nothing listens on (a targetPort typo, a port the
    chart changed): the pods are healthy, the Service is not. Pods that declare no port say nothing either way."""
    declared = sorted({(cp.name or "", cp.container_port) for p in chosen for c in p.spec.containers for cp in c.ports
                       if cp.container_port is not None})  # fmt: skip
    if not declared:
        return []
    names, numbers = {n for n, _ in declared if n}, {n for _, n in declared}
    shown = [f"{n}={p}" if n else str(p) for n, p in declared]
    out = []
    for port in svc.spec.ports:
        target = port.target
        if target is None or (target in names if isinstance(target, str) else target in numbers):
            continue
        summary = (f"Service {svc.name} sends port {port.port} to container port {target}, which no pod it selects "
                   f"declares (they declare {', '.join(shown)})")  # fmt: skip
        ev: Evidence = {"service": svc.name, "port": port.port, "target_port": target, "declared_ports": shown,
                        "selected_pods": sorted(p.name for p in chosen if p.name)}  # fmt: skip
        out.append(_verdict(Status.FAIL, "k8s.service_target_port_undeclared", summary, where(svc),
                            f"service/{svc.name}", ev))  # fmt: skip
    return out


def absent_job_obs(jobs: list[Job], pods: list[Pod], where: Where = comp_of) -> list[Verdict]:
    deployed = {where(p) for p in pods}
    have = [(j.metadata.labels.get("app.kubernetes.io/component") or "", j.name) for j in jobs]
    kept = any(j.metadata.annotations.get("helm.sh/hook") for j in jobs)
    out = []
    for role, comp, anchor in _EXPECTED_JOBS:
        if anchor in deployed and not any(role == label or name.endswith(role) for label, name in have):
            note = "other hook Jobs are kept, so it never ran" if kept else "it may have been deleted after it ran"
            ev: Evidence = {"expected_role": role, "other_hook_jobs_kept": kept, "jobs": sorted(n for _, n in have)}
            out.append(_verdict(Status.WARN if kept else Status.UNKNOWN, "k8s.hook_job_absent",
                                f"no {role} Job in the namespace ({note})", comp, f"job/*{role}", ev))  # fmt: skip
    return out


def _stale(when: str, now: datetime) -> bool:
    try:
        return (now - datetime.fromisoformat(when)).total_seconds() > EVENT_WINDOW_S
    except (ValueError, TypeError):
        return False  # no usable time: keep it


@dataclasses.dataclass
class _Seen:
    """Warning events of one (kind, name, reason), summed."""

    count: int = 0
    last_seen: str = ""
    message: str | None = None


def settled_since(pods: list[Pod], jobs: list[Job]) -> dict[tuple[str, str], str]:
    """When each Pod last (re)started or finished with no container waiting, and when each Job completed: a Warning
    that last happened before that is about a state the object has since left (a pod that waited for a Secret and
    then ran), so it is history."""
    out = {("Job", j.name): j.status.completion_time for j in jobs if j.status.completion_time}
    for p in pods:
        states = [cs.state for cs in p.status.container_statuses if cs.state is not None]
        if not states or any(st.waiting for st in states):
            continue
        times = [t for st in states for t in (st.running and st.running.started_at,
                                                 st.terminated and st.terminated.finished_at) if t]  # fmt: skip
        if times:
            out["Pod", p.name] = max(times)
    return out


def _before(when: str, since: str | None) -> bool:
    try:
        return since is not None and datetime.fromisoformat(when) < datetime.fromisoformat(since)
    except (ValueError, TypeError):
        return False  # no usable time: keep it


def event_obs(
    events: list[Event],
    live: dict[tuple[str, str], str],
    uids: Mapping[tuple[str, str], str | None] | None = None,
    since: Mapping[tuple[str, str], str] | None = None,
) -> list[Verdict]:
    """Recent Warning events about what exists now. ``live``: (kind, name) of the Pods and Jobs → component;
    ``uids``: their uids, so an event about an earlier object of the same name (a Job deleted and created again,
    a StatefulSet pod replaced) is history, not the present; ``since``: :func:`settled_since`."""
    grouped: dict[tuple[str, str, str], _Seen] = {}
    now = datetime.now(UTC)
    uids, since = uids or {}, since or {}
    for e in events:
        kind, name = str(e.involved_object.kind), str(e.involved_object.name)
        when = str(e.last_timestamp or e.event_time or e.metadata.creation_timestamp or "")
        uid, current = e.involved_object.uid, uids.get((kind, name))
        earlier = uid is not None and current is not None and uid != current
        gone = kind in ("Pod", "Job") and (kind, name) not in live
        if e.type != "Warning" or gone or earlier or _stale(when, now) or _before(when, since.get((kind, name))):
            continue  # Normal, about an object that is gone or an earlier one of its name, or old: not the present
        g = grouped.setdefault((kind, name, str(e.reason)), _Seen())
        g.count += int(e.count or e.series.count or 1)
        g.message, g.last_seen = e.message, max(g.last_seen, when)
    ranked = sorted(grouped.items(), key=lambda kv: (-kv[1].count, kv[0]))[:MAX_EVENTS]
    return [_verdict(Status.WARN, "k8s.warning_event", f"{kind} {name}: {reason}: {g.message} (x{g.count})",
                     live.get((kind, name)) or component_of({}, name), f"event/{kind}/{name}/{reason}",
                     {"reason": reason, "message": g.message, "count": g.count,
                      "involved_object": {"kind": kind, "name": name}, "last_seen": g.last_seen})
            for (kind, name, reason), g in ranked]  # fmt: skip


def fold_events(found: list[Verdict], events: list[Verdict]) -> tuple[list[Verdict], list[Verdict]]:
    """``found`` with each Warning event about a Pod or Job it reports as broken attached to that verdict's
    evidence, and the events about anything else (they stand on their own)."""
    owners: dict[tuple[str, str], int] = {}
    for i, o in enumerate(found):
        if o.status is not Status.OK:
            pod = o.evidence.get("pod")
            if o.subject.startswith("job/"):
                owners.setdefault(("Job", o.subject.removeprefix("job/")), i)
            elif isinstance(pod, str):
                owners.setdefault(("Pod", pod), i)
    attached: dict[int, list[Evidence]] = defaultdict(list)
    rest = []
    for e in events:
        _, kind, name, _ = e.subject.split("/", 3)  # event/<kind>/<name>/<reason>
        owner = owners.get((kind, name))
        if owner is None:
            rest.append(e)
        else:
            attached[owner].append({k: e.evidence[k] for k in ("reason", "message", "count", "last_seen")})
    folded = [dataclasses.replace(o, evidence={**o.evidence, "warning_events": attached[i]}) if i in attached else o
              for i, o in enumerate(found)]  # fmt: skip
    return folded, rest


def ok_obs(
    found: list[Verdict], pods: list[Pod], jobs: list[Job], counts: Evidence, where: Where = comp_of
) -> list[Verdict]:
    troubled = {o.component for o in found if o.status is not Status.OK}
    by_comp: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for pod in pods:
        by_comp[where(pod)][0].append(pod.name)
    for job in jobs:
        by_comp[where(job)][1].append(job.name)
    out = [_verdict(Status.OK, "k8s.ok", "the Kubernetes API answers", "kubernetes", "api", counts)]
    out += [_verdict(Status.OK, "k8s.ok", f"{comp}: {len(p)} pod(s), {len(j)} Job(s), all fine", comp, "workloads",
                     {"pods": sorted(p), "jobs": sorted(j)})
            for comp, (p, j) in sorted(by_comp.items()) if comp not in troubled]  # fmt: skip
    return out


__all__ = ["Evidence", "Json", "absent_job_obs", "comp_of", "component_of", "dicts", "event_obs", "fold_events", "get",
           "name_of", "ok_obs", "pod_obs", "service_obs", "settled_since"]  # fmt: skip
