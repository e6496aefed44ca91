"""What the real apiserver does to an object between the request and storage: defaulting, normalising, validating.

Why bother: diagnosis reads what a cluster *stores*, not what was sent. A Secret's ``stringData`` is never stored
(it is folded into base64 ``data``); a Service has a ``clusterIP`` nobody wrote; a Deployment has ``replicas: 1``
and a rolling-update strategy; a Job's pods carry ``batch.kubernetes.io/job-name``. And a manifest a real cluster
would reject (a Deployment whose selector does not match its template) must be rejected here too, with a 422.
Only the rules that matter to floe-agents are written down; unknown fields are stored as sent.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from floe_agents.lab.kube.errors import Cause, bad_request
from floe_agents.lab.kube.resources import ResourceType
from floe_agents.lab.kube.selectors import ObjectFilter, Requirement

__all__ = [
    "JsonObj",
    "apply_defaults",
    "generate_name",
    "initial_status",
    "normalize_secret",
    "now",
    "pod_qos",
    "validate",
]

JsonObj = dict[str, Any]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_NAME_RULES: dict[str, tuple[re.Pattern[str], int, str]] = {
    "subdomain": (
        _SUBDOMAIN,
        253,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ),
    "label": (
        _LABEL,
        63,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
        "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ),
    "label1035": (
        _LABEL_1035,
        63,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
        "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
        "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ),
}
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the apiserver's: no vowels, no look-alikes
_POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "deployments": ("spec", "template"),
    "statefulsets": ("spec", "template"),
    "replicasets": ("spec", "template"),
    "jobs": ("spec", "template"),
    "cronjobs": ("spec", "jobTemplate", "spec", "template"),
}


def now() -> str:
    """An RFC 3339 timestamp at second precision, as ``metav1.Time`` serialises."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))


def _dig(obj: JsonObj, path: tuple[str, ...]) -> Any:
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
    template_path = _POD_TEMPLATE_PATHS.get(rt.plural)
    if template_path is not None:
        template_spec = _dig(obj, (*template_path, "spec"))
        if isinstance(template_spec, dict):
            _default_pod_spec(template_spec)


_NO_SPEC = frozenset({"secrets", "configmaps", "endpoints", "events", "serviceaccounts", "roles", "rolebindings"})


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
    return {}


def _name_causes(rt: ResourceType, name: str) -> list[Cause]:
    if not name:
        return [Cause("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")]
    pattern, limit, why = _NAME_RULES[rt.name_rule]
    if len(name) > limit:
        return [Cause("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": must be no more than {limit} characters')]
    if not pattern.match(name):
        return [Cause("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {why}')]
    return []


def _pod_spec_causes(spec: Any, prefix: str) -> list[Cause]:
    if not isinstance(spec, dict):
        return [Cause(prefix, "FieldValueRequired", "Required value")]
    containers = spec.get("containers")
    if not containers:
        return [Cause(f"{prefix}.containers", "FieldValueRequired", "Required value")]
    causes: list[Cause] = []
    for n, container in enumerate(containers):
        where = f"{prefix}.containers[{n}]"
        if not isinstance(container, dict) or not container.get("name"):
            causes.append(Cause(f"{where}.name", "FieldValueRequired", "Required value"))
        elif not container.get("image"):
            causes.append(Cause(f"{where}.image", "FieldValueRequired", "Required value"))
    return causes


def _selector_causes(obj: JsonObj, template_path: tuple[str, ...]) -> list[Cause]:
    selector = _dig(obj, ("spec", "selector"))
    if not selector:
        return [Cause("spec.selector", "FieldValueRequired", "Required value")]
    labels = _dig(obj, (*template_path, "metadata", "labels")) or {}
    reqs = [Requirement(k, "=", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in selector.get("matchExpressions") or []:
        op = ops.get(str(expr.get("operator")), "in")
        reqs.append(Requirement(str(expr.get("key")), op, tuple(str(v) for v in expr.get("values") or [])))
    if not ObjectFilter(tuple(reqs)).matches({"metadata": {"labels": labels}}):
        shown = ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items()))
        return [
            Cause(
                ".".join((*template_path, "metadata", "labels")),
                "FieldValueInvalid",
                f"Invalid value: map[string]string{{{shown}}}: `selector` does not match template `labels`",
            )
        ]
    return []


def validate(rt: ResourceType, obj: JsonObj) -> list[Cause]:
    """The validation failures a real apiserver would report for this object (empty when it is valid)."""
    causes = _name_causes(rt, str(obj["metadata"].get("name") or ""))
    if rt.plural == "pods":
        causes += _pod_spec_causes(obj.get("spec"), "spec")
    template_path = _POD_TEMPLATE_PATHS.get(rt.plural)
    if template_path is not None:
        prefix = ".".join(template_path)
        causes += _pod_spec_causes(_dig(obj, (*template_path, "spec")), f"{prefix}.spec")
        if rt.plural != "cronjobs":
            causes += _selector_causes(obj, template_path)
        if rt.plural in {"jobs", "cronjobs"}:
            policy = _dig(obj, (*template_path, "spec", "restartPolicy"))
            if policy not in {"OnFailure", "Never"}:
                causes.append(
                    Cause(
                        f"{prefix}.spec.restartPolicy",
                        "FieldValueNotSupported",
                        f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"',
                    )
                )
    if rt.plural == "services" and _dig(obj, ("spec", "type")) != "ExternalName":
        if not _dig(obj, ("spec", "ports")) and _dig(obj, ("spec", "clusterIP")) != "None":
            causes.append(Cause("spec.ports", "FieldValueRequired", "Required value"))
    return causes
