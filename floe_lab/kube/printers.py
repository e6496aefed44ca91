"""The columns ``kubectl get`` shows for each kind, computed on the server as the real apiserver's printers do.

Why on the server: ``kubectl get`` asks for ``as=Table`` and prints the cells it receives (READY ``1/1``, STATUS
``CrashLoopBackOff``, RESTARTS ``3 (20s ago)``, AGE ``5m``); it has no printer of its own for built-in kinds. The
rules below are the apiserver's (``pkg/printers/internalversion``) for the kinds the lab runs: a pod's STATUS is
its phase unless a container's waiting or terminated reason says more, a Job's STATUS comes from its conditions,
a Service's ports read ``80:30080/TCP``. Every other kind gets NAME and AGE. Columns of priority 1 are the ones
``-o wide`` adds; the server always sends them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from floe_lab.kube.columns import AGE, NAME, Cell, Column, Printer, age, dig, items, number, or_none, since
from floe_lab.kube.objects import JsonObj
from floe_lab.kube.selectors import selector_string

__all__ = ["printer_for"]


def _template_columns(
    template_path: tuple[str, ...], selector: bool = True
) -> tuple[tuple[Column, ...], Callable[[JsonObj], list[Cell]]]:
    """The wide columns of a workload (its template's containers and images, and its selector)."""
    names = ("Containers", "Images", "Selector") if selector else ("Containers", "Images")
    columns = tuple(Column(name, priority=1) for name in names)

    def cells(obj: JsonObj) -> list[Cell]:
        containers = items(dig(obj, *template_path, "spec", "containers"))
        out: list[Cell] = [",".join(str(c.get("name", "")) for c in containers)]
        out.append(",".join(str(c.get("image", "")) for c in containers))
        if selector:
            out.append(or_none(selector_string(dig(obj, "spec", "selector"))))
        return out

    return columns, cells


def _pod_reason(pod: JsonObj) -> tuple[str, int, int, str | None]:
    """(STATUS, ready containers, restarts, last restart time) by the rules of the apiserver's pod printer."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    reason = str(status.get("reason") or status.get("phase") or "")
    ready, restarts, last = 0, 0, None
    init_specs = {str(c.get("name")): c for c in items(spec.get("initContainers"))}
    initializing = False
    init_statuses = items(status.get("initContainerStatuses"))
    for i, entry in enumerate(init_statuses):
        restarts += number(entry.get("restartCount"))
        sidecar = (init_specs.get(str(entry.get("name"))) or {}).get("restartPolicy") == "Always"
        term, wait = dig(entry, "state", "terminated"), dig(entry, "state", "waiting")
        if term is not None and number(term.get("exitCode")) == 0:
            continue
        if sidecar and entry.get("started"):
            ready += 1 if entry.get("ready") else 0
            continue
        if term is not None:
            reason = "Init:" + str(term.get("reason") or f"ExitCode:{number(term.get('exitCode'))}")
        elif wait is not None and wait.get("reason") and wait.get("reason") != "PodInitializing":
            reason = f"Init:{wait['reason']}"
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    if not initializing:
        has_running = False
        for entry in reversed(items(status.get("containerStatuses"))):
            restarts += number(entry.get("restartCount"))
            finished = dig(entry, "lastState", "terminated", "finishedAt")
            last = max(last or "", finished) if isinstance(finished, str) else last
            term, wait = dig(entry, "state", "terminated"), dig(entry, "state", "waiting")
            if wait is not None and wait.get("reason"):
                reason = str(wait["reason"])
            elif term is not None:
                reason = str(term.get("reason") or f"ExitCode:{number(term.get('exitCode'))}")
            elif entry.get("ready") and dig(entry, "state", "running") is not None:
                has_running, ready = True, ready + 1
        if reason == "Completed" and has_running:
            conditions = {c.get("type"): c.get("status") for c in items(status.get("conditions"))}
            reason = "Running" if conditions.get("Ready") == "True" else "NotReady"
    if dig(pod, "metadata", "deletionTimestamp") and reason not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason, ready, restarts, last


def _pod(pod: JsonObj, now: datetime) -> list[Cell]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    reason, ready, restarts, last = _pod_reason(pod)
    sidecars = sum(1 for c in items(spec.get("initContainers")) if c.get("restartPolicy") == "Always")
    total = len(items(spec.get("containers"))) + sidecars
    shown = f"{restarts} ({since(last, now)} ago)" if restarts and last else str(restarts)
    gates = items(spec.get("readinessGates"))
    return [
        str(dig(pod, "metadata", "name")),
        f"{ready}/{total}",
        reason,
        shown,
        age(pod, now),
        or_none(str(status.get("podIP") or "")),
        or_none(str(spec.get("nodeName") or "")),
        or_none(str(status.get("nominatedNodeName") or "")),
        f"0/{len(gates)}" if gates else "<none>",
    ]


_WIDE_POD = tuple(Column(n, priority=1) for n in ("IP", "Node", "Nominated Node", "Readiness Gates"))
_POD = Printer((NAME, Column("Ready"), Column("Status"), Column("Restarts"), AGE, *_WIDE_POD), _pod)

_DEPLOY_WIDE, _deploy_wide = _template_columns(("spec", "template"))


def _deployment(obj: JsonObj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ready = f"{number(status.get('readyReplicas'))}/{number(spec.get('replicas'))}"
    counts: list[Cell] = [number(status.get("updatedReplicas")), number(status.get("availableReplicas"))]
    return [str(dig(obj, "metadata", "name")), ready, *counts, age(obj, now), *_deploy_wide(obj)]


_STS_WIDE, _sts_wide = _template_columns(("spec", "template"), selector=False)


def _statefulset(obj: JsonObj, now: datetime) -> list[Cell]:
    ready = f"{number(dig(obj, 'status', 'readyReplicas'))}/{number(dig(obj, 'spec', 'replicas'))}"
    return [str(dig(obj, "metadata", "name")), ready, age(obj, now), *_sts_wide(obj)]


def _replicaset(obj: JsonObj, now: datetime) -> list[Cell]:
    counts: list[Cell] = [number(dig(obj, "spec", "replicas")), number(dig(obj, "status", "replicas"))]
    counts.append(number(dig(obj, "status", "readyReplicas")))
    return [str(dig(obj, "metadata", "name")), *counts, age(obj, now), *_deploy_wide(obj)]


_JOB_CONDITIONS = ("Complete", "Failed", "Suspended", "FailureTarget", "SuccessCriteriaMet")


def _job(obj: JsonObj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    true = {c.get("type") for c in items(status.get("conditions")) if c.get("status") == "True"}
    state = next((c for c in _JOB_CONDITIONS[:2] if c in true), None)
    if state is None and dig(obj, "metadata", "deletionTimestamp"):
        state = "Terminating"
    state = state or next((c for c in _JOB_CONDITIONS[2:] if c in true), "Running")
    succeeded, parallelism = number(status.get("succeeded")), number(spec.get("parallelism"))
    if isinstance(spec.get("completions"), int):
        completions = f"{succeeded}/{spec['completions']}"
    else:
        completions = f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
    started, finished = status.get("startTime"), status.get("completionTime")
    took = ""
    if isinstance(started, str):
        end = datetime.fromisoformat(finished.replace("Z", "+00:00")) if isinstance(finished, str) else now
        took = since(started, end)
    cells: list[Cell] = [str(dig(obj, "metadata", "name")), state, completions, took, age(obj, now)]
    return cells + _deploy_wide(obj)


def _ports(spec: JsonObj) -> str:
    out = []
    for port in items(spec.get("ports")):
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        out.append(f"{port.get('port')}{node}/{port.get('protocol') or 'TCP'}")
    return ",".join(out) or "<none>"


def _external(obj: JsonObj) -> str:
    spec = obj.get("spec") or {}
    kind, ips = spec.get("type") or "ClusterIP", [str(ip) for ip in spec.get("externalIPs") or []]
    if kind == "ExternalName":
        return str(spec.get("externalName") or "<none>")
    if kind == "LoadBalancer":
        ingress = [str(i.get("ip") or i.get("hostname")) for i in items(dig(obj, "status", "loadBalancer", "ingress"))]
        return ",".join(ingress + ips) or "<pending>"
    return ",".join(ips) or "<none>"


def _service(obj: JsonObj, now: datetime) -> list[Cell]:
    spec = obj.get("spec") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    cluster_ip = str(spec.get("clusterIP") or "") or "<none>"
    head: list[Cell] = [str(dig(obj, "metadata", "name")), str(spec.get("type") or "ClusterIP"), cluster_ip]
    return [*head, _external(obj), _ports(spec), age(obj, now), or_none(selector)]


def _secret(obj: JsonObj, now: datetime) -> list[Cell]:
    data = len(obj.get("data") or {})
    return [str(dig(obj, "metadata", "name")), str(obj.get("type") or "Opaque"), data, age(obj, now)]


def _configmap(obj: JsonObj, now: datetime) -> list[Cell]:
    data = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [str(dig(obj, "metadata", "name")), data, age(obj, now)]


def _namespace(obj: JsonObj, now: datetime) -> list[Cell]:
    return [str(dig(obj, "metadata", "name")), str(dig(obj, "status", "phase") or ""), age(obj, now)]


def _event(obj: JsonObj, now: datetime) -> list[Cell]:
    first = obj.get("firstTimestamp") or obj.get("eventTime")
    last = dig(obj, "series", "lastObservedTime") or obj.get("lastTimestamp") or first
    count = number(dig(obj, "series", "count")) or number(obj.get("count")) or 1
    involved = obj.get("involvedObject") or {}
    target = str(involved.get("kind", "")).lower() + (f"/{involved['name']}" if involved.get("name") else "")
    source = obj.get("source") or {}
    origin = ", ".join(str(source[k]) for k in ("component", "host") if source.get(k))
    origin = origin or str(obj.get("reportingComponent") or "")
    head: list[Cell] = [since(last, now), str(obj.get("type") or ""), str(obj.get("reason") or ""), target]
    tail: list[Cell] = [str(involved.get("fieldPath") or ""), origin, str(obj.get("message") or "").strip()]
    return [*head, *tail, since(first, now), count, str(dig(obj, "metadata", "name"))]


def _generic(obj: JsonObj, now: datetime) -> list[Cell]:
    return [str(dig(obj, "metadata", "name")), age(obj, now)]


_EVENT_COLUMNS = (
    Column("Last Seen"),
    Column("Type"),
    Column("Reason"),
    Column("Object"),
    Column("Subobject", priority=1),
    Column("Source", priority=1),
    Column("Message"),
    Column("First Seen", priority=1),
    Column("Count", "integer", priority=1),
    Column("Name", priority=1),
)
_JOB_COLUMNS = (NAME, Column("Status"), Column("Completions"), Column("Duration"), AGE, *_DEPLOY_WIDE)
_SERVICE_COLUMNS = (NAME, Column("Type"), Column("Cluster-IP"), Column("External-IP"), Column("Port(s)"), AGE)
_DEPLOY = (NAME, Column("Ready"), Column("Up-to-date", "integer"), Column("Available", "integer"), AGE)
_RS = (NAME, Column("Desired", "integer"), Column("Current", "integer"), Column("Ready", "integer"), AGE)
_PRINTERS: dict[str, Printer] = {
    "pods": _POD,
    "deployments": Printer((*_DEPLOY, *_DEPLOY_WIDE), _deployment),
    "statefulsets": Printer((NAME, Column("Ready"), AGE, *_STS_WIDE), _statefulset),
    "replicasets": Printer((*_RS, *_DEPLOY_WIDE), _replicaset),
    "jobs": Printer(_JOB_COLUMNS, _job),
    "services": Printer((*_SERVICE_COLUMNS, Column("Selector", priority=1)), _service),
    "secrets": Printer((NAME, Column("Type"), Column("Data", "integer"), AGE), _secret),
    "configmaps": Printer((NAME, Column("Data", "integer"), AGE), _configmap),
    "namespaces": Printer((NAME, Column("Status"), AGE), _namespace),
    "events": Printer(_EVENT_COLUMNS, _event),
}
_GENERIC = Printer((NAME, AGE), _generic)


def printer_for(plural: str) -> Printer:
    """The printer of a resource (by plural): its own, or NAME and AGE."""
    return _PRINTERS.get(plural, _GENERIC)
