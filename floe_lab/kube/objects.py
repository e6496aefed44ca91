"""What the real apiserver does to an object between the request and storage: defaulting and normalising.

Why bother: diagnosis reads what a cluster *stores*, not what was sent. A Secret's ``stringData`` is never stored
(it is folded into base64 ``data``); a Service has a ``clusterIP`` nobody wrote; a Deployment has ``replicas: 1``
and a rolling-update strategy; a Job's pods carry ``batch.kubernetes.io/job-name``. Only the defaults that matter
to floe-agents are written down; unknown fields are stored as sent. Validation is in :mod:`.validation`.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime
from typing import Any

from floe_lab.kube.errors import bad_request
from floe_lab.kube.resources import ResourceType

__all__ = [
    "POD_TEMPLATE_PATHS",
    "JsonObj",
    "apply_defaults",
    "canonical",
    "dig",
    "generate_name",
    "initial_status",
    "normalize_secret",
    "now",
    "pod_qos",
]

JsonObj = dict[str, Any]

_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the apiserver's: no vowels, no look-alikes
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "deployments": ("spec", "template"),
    "statefulsets": ("spec", "template"),
    "replicasets": ("spec", "template"),
    "jobs": ("spec", "template"),
    "cronjobs": ("spec", "jobTemplate", "spec", "template"),
}


def canonical(rt: ResourceType, obj: JsonObj) -> JsonObj:
    """The object with the apiserver's key order: kind, apiVersion, metadata, the rest, status last."""
    rest = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion", "metadata", "status")}
    ordered: JsonObj = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": obj.get("metadata", {}), **rest}
    if "status" in obj:
        ordered["status"] = obj["status"]
    return ordered


def now() -> str:
    """An RFC 3339 timestamp at second precision, as ``metav1.Time`` serialises."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _micro_time(value: str) -> str:
    """A ``metav1.MicroTime`` as the apiserver re-serialises it (UTC, microseconds, ``Z``)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f'parsing time "{value}" as RFC3339 failed') from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def generate_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))


def dig(obj: JsonObj, path: tuple[str, ...]) -> Any:
    node: Any = obj
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def normalize_secret(obj: JsonObj) -> None:
    """Fold ``stringData`` into base64 ``data`` (stringData wins) and reject ``data`` that is not base64."""
    data = obj.get("data") or {}
    for key, value in data.items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(f"illegal base64 data in secret key {key!r}") from None
    string_data = obj.pop("stringData", None) or {}
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    if data:
        obj["data"] = data
    obj.setdefault("type", "Opaque")


def _default_container(container: JsonObj) -> None:
    image = str(container.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    latest = "@" not in tag and (":" not in tag or tag.endswith(":latest"))
    container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")


def _default_pod_spec(spec: JsonObj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount", "default"))
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        if isinstance(container, dict):
            _default_container(container)


def _default_service(spec: JsonObj, allocate_ip: Any) -> None:
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = allocate_ip()
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        if spec["clusterIP"] != "None":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))


def apply_defaults(rt: ResourceType, obj: JsonObj, *, allocate_ip: Any) -> None:
    """Fill in the defaults the real apiserver writes (idempotent: applied on create and on every update)."""
    spec = obj.setdefault("spec", {}) if rt.plural not in _NO_SPEC else None
    if rt.plural == "secrets":
        normalize_secret(obj)
    elif rt.plural == "namespaces" and spec is not None:
        spec.setdefault("finalizers", ["kubernetes"])
        name = obj["metadata"].get("name", "")
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    elif rt.plural == "pods" and spec is not None:
        _default_pod_spec(spec)
    elif rt.plural == "services" and spec is not None:
        _default_service(spec, allocate_ip)
    elif rt.plural in {"deployments", "statefulsets", "replicasets"} and spec is not None:
        spec.setdefault("replicas", 1)
        if rt.plural != "replicasets":
            spec.setdefault("revisionHistoryLimit", 10)
        if rt.plural == "deployments":
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault(
                "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
            )
        if rt.plural == "statefulsets":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    elif rt.plural == "jobs" and spec is not None:
        _default_job(obj, spec)
    elif rt.plural == "cronjobs" and spec is not None:
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
    elif rt.plural == "leases" and spec is not None:
        for field in ("acquireTime", "renewTime"):
            if isinstance(spec.get(field), str):
                spec[field] = _micro_time(spec[field])
    template_path = POD_TEMPLATE_PATHS.get(rt.plural)
    if template_path is not None:
        template_spec = dig(obj, (*template_path, "spec"))
        if isinstance(template_spec, dict):
            _default_pod_spec(template_spec)


_NO_SPEC = frozenset(
    {"secrets", "configmaps", "endpoints", "events", "serviceaccounts"}
    | {"roles", "rolebindings", "clusterroles", "clusterrolebindings"}
)


def _default_job(obj: JsonObj, spec: JsonObj) -> None:
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    if spec.get("manualSelector"):
        return
    uid, name = obj["metadata"]["uid"], obj["metadata"]["name"]
    spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
    for key, value in (("controller-uid", uid), ("job-name", name)):
        labels.setdefault(f"batch.kubernetes.io/{key}", value)
        labels.setdefault(key, value)


def pod_qos(spec: JsonObj) -> str:
    """The pod's QoS class from its containers' requests and limits, as the apiserver computes it."""
    containers = [c for c in (spec.get("containers") or []) if isinstance(c, dict)]
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        (r.get("limits") or {}).get(k) is not None
        and (r.get("requests") or {}).get(k, (r.get("limits") or {})[k]) == (r.get("limits") or {})[k]
        for r in resources
        for k in ("cpu", "memory")
    )
    return "Guaranteed" if guaranteed else "Burstable"


def initial_status(rt: ResourceType, obj: JsonObj) -> JsonObj:
    """The status a freshly created object has (clients cannot set it on create)."""
    if rt.plural == "pods":
        return {"phase": "Pending", "qosClass": pod_qos(obj.get("spec") or {})}
    if rt.plural == "namespaces":
        return {"phase": "Active"}
    if rt.plural == "services":
        return {"loadBalancer": {}}
    if rt.plural == "statefulsets":  # typed clients require status.replicas here
        return {"replicas": 0, "availableReplicas": 0}
    if rt.plural == "replicasets":
        return {"replicas": 0}
    return {}
