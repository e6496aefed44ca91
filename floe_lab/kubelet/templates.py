"""Pods from pod templates, and the bits of controller bookkeeping every workload controller shares.

Why faithful names and labels: diagnoses find pods by what real controllers put on them — a Deployment's pods
carry ``pod-template-hash`` and belong to a ReplicaSet ``<deploy>-<hash>``; a StatefulSet's pod is
``<sts>-0`` with ``controller-revision-hash``; a Job's pods carry ``job-name``. The hash is computed as the
deployment controller does it in spirit (FNV-32a of the template, then the apiserver's "safe" alphabet), so it
changes exactly when the template does, and a template change rolls the pod.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from floe_lab.kubelet.api import JsonObj
from floe_lab.kubelet.context import NODE_NAME
from floe_lab.kubelet.snapshot import owner_ref

__all__ = ["condition", "new_pod", "set_condition", "template_hash"]

_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: Mapping[str, Any], collisions: int = 0) -> str:
    """``pod-template-hash``: FNV-32a of the template, its decimal digits mapped to the safe alphabet."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    value = 0x811C9DC5
    for byte in data + (str(collisions).encode() if collisions else b""):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE[ord(ch) % len(_SAFE)] for ch in str(value))


def new_pod(
    template: Mapping[str, Any],
    owner: JsonObj,
    *,
    name: str | None = None,
    generate_name: str | None = None,
    labels: Mapping[str, str] | None = None,
    spec_extra: Mapping[str, Any] | None = None,
) -> JsonObj:
    """A pod for ``owner`` from its template, bound to the lab node."""
    tmeta = template.get("metadata") or {}
    meta: JsonObj = {
        "namespace": owner["metadata"]["namespace"],
        "labels": {**(tmeta.get("labels") or {}), **(labels or {})},
        "ownerReferences": [owner_ref(owner)],
    }
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = generate_name
    spec = copy.deepcopy(dict(template.get("spec") or {}))
    spec.update(spec_extra or {})
    spec["nodeName"] = NODE_NAME
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def condition(type_: str, ok: bool, reason: str, message: str, stamp: str, *, probe: bool = False) -> JsonObj:
    cond: JsonObj = {"type": type_, "status": "True" if ok else "False"}
    if probe:
        cond["lastProbeTime"] = stamp
    else:
        cond["lastUpdateTime"] = stamp
    cond.update({"lastTransitionTime": stamp, "reason": reason, "message": message})
    return cond


def set_condition(conditions: list[JsonObj], new: JsonObj) -> list[JsonObj]:
    """Replace the condition of the same type, keeping its times when nothing about it changed (and its
    transition time when only the reason or message did)."""
    out, replaced = [], False
    for old in conditions:
        if old.get("type") != new["type"]:
            out.append(old)
            continue
        replaced = True
        merged = dict(new)
        if old.get("status") == new["status"]:
            merged["lastTransitionTime"] = old.get("lastTransitionTime", new["lastTransitionTime"])
            if old.get("reason") == new["reason"] and old.get("message") == new["message"]:
                for stamp in ("lastUpdateTime", "lastProbeTime"):
                    if stamp in old and stamp in merged:
                        merged[stamp] = old[stamp]
        out.append(merged)
    if not replaced:
        out.append(new)
    return out
