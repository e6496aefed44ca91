"""Deletion as a real cluster does it: preconditions, finalizers, graceful pods, garbage collection, namespaces.

Why it is more than ``del``: what a diagnosis sees after a delete depends on these rules. An object with
finalizers lingers with a ``deletionTimestamp`` (the classic "stuck Terminating"); a Deployment's ReplicaSets and
Pods go with it (background propagation), but a Job's Pods are *orphaned* by default (batch/v1's legacy default);
deleting a namespace deletes what is in it. The garbage collector and namespace controller are separate processes
in a real cluster; here their effect is applied at once, in the same order of watch events.
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from floe_lab.kube import errors
from floe_lab.kube.core import StoreCore
from floe_lab.kube.objects import JsonObj, now
from floe_lab.kube.resources import RESOURCES, ResourceType

__all__ = ["DeletingStore"]

_POLICIES = ("Orphan", "Background", "Foreground")


class DeletingStore(StoreCore):
    """The DELETE verbs on top of :class:`StoreCore`."""

    def delete(
        self,
        resource: str | ResourceType,
        name: str,
        namespace: str | None = None,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        preconditions: Mapping[str, Any] | None = None,
        dry_run: bool = False,
    ) -> JsonObj:
        """Delete an object; returns its last state (with ``deletionTimestamp`` if it is only marked for deletion).

        ``propagation_policy``: ``Background``/``Foreground`` delete dependents (``ownerReferences``),
        ``Orphan`` strips the reference; default Background, except Jobs (Orphan, as batch/v1 does).
        """
        rt = self.resource(resource)
        obj = self._stored(rt, name, namespace)
        self._check_preconditions(rt, obj, preconditions or {})
        if propagation_policy not in (None, *_POLICIES):
            raise errors.bad_request(f"propagationPolicy: Unsupported value: {propagation_policy!r}")
        if dry_run:
            return copy.deepcopy(obj)
        if rt.plural == "namespaces":
            return copy.deepcopy(self._delete_namespace(obj))
        policy = propagation_policy or ("Orphan" if rt.plural == "jobs" else "Background")
        meta = obj["metadata"]
        if meta.get("finalizers"):
            return copy.deepcopy(obj if meta.get("deletionTimestamp") else self._mark_deleting(rt, obj, 0))
        spec = obj.get("spec") or {}
        if rt.plural == "pods" and self.graceful_pod_deletion and spec.get("nodeName"):
            grace = grace_period_seconds
            if grace is None:
                grace = int(spec.get("terminationGracePeriodSeconds", 30))
            if grace > 0:
                pending = meta.get("deletionGracePeriodSeconds")
                if meta.get("deletionTimestamp") and pending is not None and int(pending) <= grace:
                    return copy.deepcopy(obj)
                return copy.deepcopy(self._mark_deleting(rt, obj, grace))
        return copy.deepcopy(self._remove(rt, obj, policy))

    def delete_collection(
        self,
        resource: str | ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        propagation_policy: str | None = None,
        dry_run: bool = False,
    ) -> builtins.list[JsonObj]:
        """Delete every matching object; returns their last states."""
        rt = self.resource(resource)
        targets = self._select(rt, namespace, label_selector, field_selector)
        keys = [(str(o["metadata"]["name"]), o["metadata"].get("namespace")) for o in targets]
        deleted = []
        for name, ns in keys:
            if self.find(rt, name, ns) is not None:
                deleted.append(self.delete(rt, name, ns, propagation_policy=propagation_policy, dry_run=dry_run))
        return deleted

    def _check_preconditions(self, rt: ResourceType, obj: JsonObj, preconditions: Mapping[str, Any]) -> None:
        meta = obj["metadata"]
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = preconditions.get(field)
            if wanted not in (None, "") and str(wanted) != str(meta.get(field)):
                raise errors.conflict(
                    rt,
                    str(meta["name"]),
                    f"Precondition failed: {label} in precondition: {wanted}, "
                    f"{label} in object meta: {meta.get(field)}",
                )

    def _mark_deleting(self, rt: ResourceType, obj: JsonObj, grace: int) -> JsonObj:
        marked = copy.deepcopy(obj)
        when = datetime.now(UTC) + timedelta(seconds=grace)
        marked["metadata"]["deletionTimestamp"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        marked["metadata"]["deletionGracePeriodSeconds"] = grace
        return self._commit(rt, "MODIFIED", marked, obj)

    def _remove(self, rt: ResourceType, obj: JsonObj, policy: str | None) -> JsonObj:
        """Remove at once (DELETED event with a new resourceVersion), then collect dependents per ``policy``."""
        final = copy.deepcopy(obj)
        self._commit(rt, "DELETED", final)
        meta = final["metadata"]
        if rt.plural == "pods":
            self.logs.forget(str(meta.get("namespace")), str(meta["name"]))
        if policy is not None:
            self._collect_garbage(str(meta.get("uid")), str(meta.get("namespace") or ""), policy)
        return final

    def _collect_garbage(self, owner_uid: str, namespace: str, policy: str) -> None:
        for rt in RESOURCES:
            if not rt.namespaced:
                continue
            table = self._objects[rt]
            for key in [k for k in table if not namespace or k[0] == namespace]:
                dependent = table.get(key)
                refs = (dependent or {}).get("metadata", {}).get("ownerReferences") or []
                if dependent is None or not any(r.get("uid") == owner_uid for r in refs):
                    continue
                others = [r for r in refs if r.get("uid") != owner_uid]
                if policy == "Orphan":
                    orphan = copy.deepcopy(dependent)
                    if others:
                        orphan["metadata"]["ownerReferences"] = others
                    else:
                        orphan["metadata"].pop("ownerReferences")
                    self._commit(rt, "MODIFIED", orphan, dependent)
                elif not any(r.get("uid") in self._uids for r in others):
                    self.delete(rt, key[1], key[0], propagation_policy="Background")

    def _delete_namespace(self, obj: JsonObj) -> JsonObj:
        """Mark Terminating, delete everything in it, then remove it: the namespace controller's work, at once."""
        ns_type = RESOURCES[0]
        name = str(obj["metadata"]["name"])
        terminating = copy.deepcopy(obj)
        if not obj["metadata"].get("deletionTimestamp"):
            terminating["metadata"]["deletionTimestamp"] = now()
            terminating.setdefault("status", {})["phase"] = "Terminating"
            self._commit(ns_type, "MODIFIED", terminating, obj)
        for rt in RESOURCES:
            if rt.namespaced:
                for key in sorted(k for k in self._objects[rt] if k[0] == name):
                    contained = self._objects[rt].get(key)
                    if contained is not None:
                        self._remove(rt, contained, None)
        self._remove(ns_type, self._objects[ns_type][("", name)], None)
        return terminating
