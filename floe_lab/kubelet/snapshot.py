"""One consistent look at the cluster per sync, and the small questions every controller asks of it.

Why a snapshot rather than per-object reads: the kubelet and its controllers reconcile *towards* what the API
says, and listing each type once per sync (at lab scale, a handful of objects) is both cheaper and simpler than
caching watch streams; the watches only decide *when* to sync. Ownership is decided by ``ownerReferences``
with ``controller: true``, as the real controllers do, never by names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from floe_lab.kubelet.api import JsonObj, KubeApi
from floe_lab.kubelet.context import NODE_NAME

__all__ = [
    "Snapshot",
    "controller_uid",
    "is_ready",
    "is_terminal",
    "is_terminating",
    "key",
    "labels_match",
    "on_node",
    "owner_ref",
    "workload_of",
]

_TYPES = (
    "pods",
    "deployments",
    "replicasets",
    "statefulsets",
    "jobs",
    "services",
    "endpoints",
    "secrets",
    "configmaps",
    "cronjobs",
    "serviceaccounts",
    "namespaces",
)


def key(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or "default"), str(meta.get("name"))


def controller_uid(obj: Mapping[str, Any]) -> str | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None


def owner_ref(owner: Mapping[str, Any]) -> JsonObj:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_terminating(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def on_node(pod: Mapping[str, Any]) -> bool:
    """Pods this node runs: bound to it, or not bound yet (the lab's one-node scheduler binds them here)."""
    return (pod.get("spec") or {}).get("nodeName") in (None, "", NODE_NAME)


def labels_match(selector: Mapping[str, Any] | None, labels: Mapping[str, Any] | None) -> bool:
    """A Service-style selector (a plain map); an empty selector selects nothing, as for Services."""
    if not selector:
        return False
    have = labels or {}
    return all(have.get(k) == v for k, v in selector.items())


@dataclass
class Snapshot:
    """Every object of the types the kubelet and controllers read, listed once."""

    items: dict[str, list[JsonObj]] = field(default_factory=dict)

    @classmethod
    async def load(cls, api: KubeApi) -> Snapshot:
        snap = cls()
        for plural in _TYPES:  # one after the other: a few milliseconds at lab scale, and plain errors
            snap.items[plural] = await api.list(plural)
        return snap

    def of(self, plural: str) -> list[JsonObj]:
        return self.items.get(plural, [])

    def by_key(self, plural: str) -> dict[tuple[str, str], JsonObj]:
        return {key(o): o for o in self.of(plural)}

    def owned(self, plural: str, owner: Mapping[str, Any]) -> list[JsonObj]:
        uid = str(owner["metadata"]["uid"])
        return [o for o in self.of(plural) if controller_uid(o) == uid]

    def by_uid(self, plural: str, uid: str | None) -> JsonObj | None:
        return next((o for o in self.of(plural) if o["metadata"].get("uid") == uid), None)


def workload_of(pod: Mapping[str, Any], snap: Snapshot) -> tuple[str, str]:
    """(kind, name) of the workload a pod stands for: Deployment through its ReplicaSet, StatefulSet, Job, or
    the pod itself. Orphans keep the name their labels give (a Job's pods keep ``job-name``)."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    for ref in meta.get("ownerReferences") or []:
        if not ref.get("controller"):
            continue
        kind, name = str(ref.get("kind")), str(ref.get("name"))
        if kind == "ReplicaSet":
            rs = snap.by_uid("replicasets", str(ref.get("uid")))
            refs = (rs or {}).get("metadata", {}).get("ownerReferences") or []
            owner = next((r for r in refs if r.get("controller")), None)
            if owner is not None:
                return str(owner.get("kind")), str(owner.get("name"))
            pod_hash = labels.get("pod-template-hash")
            if rs is None and pod_hash and name.endswith(f"-{pod_hash}"):
                return "Deployment", name.removesuffix(f"-{pod_hash}")
        return kind, name
    job = labels.get("batch.kubernetes.io/job-name") or labels.get("job-name")
    if job:
        return "Job", str(job)
    return "Pod", str(meta.get("name"))
