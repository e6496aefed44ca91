"""Validation: the 422 ``Invalid`` answers a real apiserver gives for the manifests floe-agents meets.

Why: a manifest a real cluster rejects (a Deployment whose selector does not match its template labels, a Job
with ``restartPolicy: Always``, a name with capitals) must be rejected here too, with the same field paths and
wording, or the lab would let through a scenario that cannot happen. Only these common rules are checked.
"""

from __future__ import annotations

import re
from typing import Any

from floe_lab.kube.errors import Cause
from floe_lab.kube.objects import POD_TEMPLATE_PATHS, JsonObj, dig
from floe_lab.kube.resources import ResourceType
from floe_lab.kube.selectors import ObjectFilter, Requirement

__all__ = ["validate"]

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


def _name_causes(rt: ResourceType, name: str) -> list[Cause]:
    if not name:
        return [Cause("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")]
    pattern, limit, why = _NAME_RULES[rt.name_rule]
    if len(name) > limit:
        return [
            Cause(
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{name}": must be no more than {limit} characters',
            )
        ]
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
    selector = dig(obj, ("spec", "selector"))
    if not selector:
        return [Cause("spec.selector", "FieldValueRequired", "Required value")]
    labels = dig(obj, (*template_path, "metadata", "labels")) or {}
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
    template_path = POD_TEMPLATE_PATHS.get(rt.plural)
    if template_path is not None:
        prefix = ".".join(template_path)
        causes += _pod_spec_causes(dig(obj, (*template_path, "spec")), f"{prefix}.spec")
        if rt.plural != "cronjobs":
            causes += _selector_causes(obj, template_path)
        if rt.plural in {"jobs", "cronjobs"}:
            policy = dig(obj, (*template_path, "spec", "restartPolicy"))
            if policy not in {"OnFailure", "Never"}:
                causes.append(
                    Cause(
                        f"{prefix}.spec.restartPolicy",
                        "FieldValueNotSupported",
                        f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"',
                    )
                )
    headless_or_external = dig(obj, ("spec", "type")) == "ExternalName" or dig(obj, ("spec", "clusterIP")) == "None"
    if rt.plural == "services" and not headless_or_external and not dig(obj, ("spec", "ports")):
        causes.append(Cause("spec.ports", "FieldValueRequired", "Required value"))
    return causes
