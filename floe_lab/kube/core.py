"""The store's core: objects, the resourceVersion counter, commits, reads, subscriptions and creation.

Why every write is synchronous: the real apiserver's guarantees come from etcd's compare-and-swap. Here the check
of ``metadata.resourceVersion`` and the commit happen with no ``await`` in between, so on one event loop they are
atomic, and a stale write is a 409 Conflict exactly as on a real cluster. That is what makes a Lease a lock.
Updates, patches and deletes live in :mod:`floe_lab.kube.store`, which builds on this class.
"""

from __future__ import annotations

import builtins
import copy
import uuid
from collections.abc import Mapping
from typing import Any

from floe_lab.kube import errors
from floe_lab.kube.events import Change, History, Subscription, WatchEvent
from floe_lab.kube.logs import PodLogs
from floe_lab.kube.objects import (
    JsonObj,
    apply_defaults,
    canonical,
    generate_name,
    initial_status,
    now,
)
from floe_lab.kube.resources import RESOURCES, ResourceType, find_resource, for_kind
from floe_lab.kube.selectors import ObjectFilter, compile_filter
from floe_lab.kube.validation import validate

__all__ = ["SYSTEM_NAMESPACES", "StoreCore"]

SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


class StoreCore:
    """All objects, the global resourceVersion counter, the change history and the subscribers.

    Objects returned to callers are copies: mutate them freely and write them back.

    Args:
        history_size: changes kept for resuming watches; older resourceVersions get 410 Expired.
        subscriber_buffer: events a subscriber may lag behind before it is dropped (its feed ends).
        graceful_pod_deletion: delete pods bound to a node (``spec.nodeName``) gracefully, as a real cluster
            does: DELETE only sets ``deletionTimestamp``; whoever plays kubelet finishes with
            ``delete(..., grace_period_seconds=0)``. Off by default: pods then vanish at once.
        system_namespaces: create ``default``, ``kube-system``, ``kube-public`` and ``kube-node-lease``.
    """

    def __init__(
        self,
        *,
        history_size: int = 10_000,
        subscriber_buffer: int = 10_000,
        graceful_pod_deletion: bool = False,
        system_namespaces: bool = True,
    ) -> None:
        self._objects: dict[ResourceType, dict[tuple[str, str], JsonObj]] = {rt: {} for rt in RESOURCES}
        self._uids: dict[str, tuple[ResourceType, str, str]] = {}
        self._rv = 0
        self._history = History(history_size)
        self._subscribers: set[Subscription] = set()
        self._buffer = subscriber_buffer
        self._next_ip = 10
        self.graceful_pod_deletion = graceful_pod_deletion
        self.logs = PodLogs()
        if system_namespaces:
            for name in SYSTEM_NAMESPACES:
                self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    # -- reading ------------------------------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        """The current global resourceVersion (that of the last write)."""
        return str(self._rv)

    def resource(self, resource: str | ResourceType) -> ResourceType:
        """Resolve ``"pods"``, ``"deploy"``, ``"Lease"``, ``"leases.coordination.k8s.io"``... to a type."""
        if isinstance(resource, ResourceType):
            return resource
        rt = find_resource(resource)
        if rt is None:
            raise KeyError(f"unknown resource {resource!r}")
        return rt

    def _key(self, rt: ResourceType, name: str, namespace: str | None) -> tuple[str, str]:
        return ((namespace or "default") if rt.namespaced else "", name)

    def _stored(self, rt: ResourceType, name: str, namespace: str | None) -> JsonObj:
        obj = self._objects[rt].get(self._key(rt, name, namespace))
        if obj is None:
            raise errors.not_found(rt, name)
        return obj

    def find(self, resource: str | ResourceType, name: str, namespace: str | None = None) -> JsonObj | None:
        """The object, or None. ``namespace`` defaults to ``default`` for namespaced types."""
        rt = self.resource(resource)
        obj = self._objects[rt].get(self._key(rt, name, namespace))
        return copy.deepcopy(obj) if obj is not None else None

    def get(self, resource: str | ResourceType, name: str, namespace: str | None = None) -> JsonObj:
        """The object; raises a 404 :class:`ApiError` (reason NotFound) if it does not exist."""
        rt = self.resource(resource)
        return copy.deepcopy(self._stored(rt, name, namespace))

    def list(
        self,
        resource: str | ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[JsonObj]:
        """Objects of a type (in ``namespace``, or in all namespaces when None), sorted by namespace and name."""
        return [copy.deepcopy(o) for o in self._select(resource, namespace, label_selector, field_selector)]

    def _select(
        self,
        resource: str | ResourceType,
        namespace: str | None,
        label_selector: str | None,
        field_selector: str | None,
    ) -> builtins.list[JsonObj]:
        rt = self.resource(resource)
        selector = compile_filter(rt, label_selector, field_selector)
        table = self._objects[rt]
        return [
            table[key]
            for key in sorted(table)
            if (namespace is None or not rt.namespaced or key[0] == namespace) and selector.matches(table[key])
        ]

    # -- watching -----------------------------------------------------------------------------------------

    def subscribe(
        self,
        resource: str | ResourceType | None = None,
        namespace: str | None = None,
        *,
        since: str | None = None,
        send_initial: bool = False,
        label_selector: str | None = None,
        field_selector: str | None = None,
        copy_objects: bool = True,
    ) -> Subscription:
        """Subscribe to changes (all types when ``resource`` is None).

        ``since``: replay every change after that resourceVersion first (410 :class:`ApiError` if too old).
        ``send_initial``: start with an ADDED event per existing matching object (ignored with ``since``).
        """
        rt = self.resource(resource) if resource is not None else None
        if rt is None and (label_selector or field_selector):
            raise ValueError("selectors need a resource type")
        selector = compile_filter(rt, label_selector, field_selector) if rt else ObjectFilter()
        backlog: builtins.list[Change] = []
        initial: builtins.list[WatchEvent] = []
        if since is not None:
            try:
                backlog = self._history.since(int(since))
            except ValueError:
                raise errors.bad_request(f'invalid resource version "{since}"') from None
        elif send_initial:
            types = [rt] if rt is not None else [t for t in RESOURCES if namespace is None or t.namespaced]
            for each in types:
                for obj in self._select(
                    each, namespace, label_selector if rt else None, field_selector if rt else None
                ):
                    initial.append(WatchEvent("ADDED", obj, each))
        sub = Subscription(
            rt,
            namespace,
            selector,
            self._buffer + len(backlog) + len(initial),
            copy_objects=copy_objects,
            on_close=self._subscribers.discard,
        )
        for event in initial:
            sub.push(event)
        for change in backlog:
            sub.offer(change)
        self._subscribers.add(sub)
        return sub

    def close(self) -> None:
        """End every subscription (after what it has buffered) and wake log followers: the store is shutting down."""
        for sub in list(self._subscribers):
            sub.end()
        self.logs.wake_all()

    # -- committing ---------------------------------------------------------------------------------------

    def _commit(self, rt: ResourceType, kind: str, obj: JsonObj, prev: JsonObj | None = None) -> JsonObj:
        """Stamp the next resourceVersion on ``obj``, store (or remove) it and fan the change out."""
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        meta = obj["metadata"]
        key = (str(meta.get("namespace") or ""), str(meta["name"]))
        if kind == "DELETED":
            self._objects[rt].pop(key, None)
            self._uids.pop(str(meta.get("uid")), None)
        else:
            self._objects[rt][key] = obj
            self._uids[str(meta["uid"])] = (rt, *key)
        change = Change(self._rv, kind, rt, obj, prev)
        self._history.append(change)
        for sub in list(self._subscribers):
            sub.offer(change)
        return obj

    def _allocate_ip(self) -> str:
        host = self._next_ip
        self._next_ip += 1
        return f"10.96.{host // 256}.{host % 256}"

    def _resolve(self, obj: Mapping[str, Any], resource: str | ResourceType | None) -> ResourceType:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if resource is None:
            rt = for_kind(str(api_version), str(kind))
            if rt is None:
                raise errors.bad_request(f'no kind "{kind}" is registered for version "{api_version}"')
            return rt
        rt = self.resource(resource)
        if api_version not in (None, "", rt.api_version):
            expected = rt.api_version
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version ({expected})"
            )
        if kind not in (None, "", rt.kind):
            raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        return rt

    def _namespace_for(self, rt: ResourceType, obj: JsonObj, namespace: str | None) -> str:
        if not rt.namespaced:
            return ""
        in_body = obj.get("metadata", {}).get("namespace")
        if namespace is not None and in_body not in (None, "", namespace):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        return str(namespace or in_body or "default")

    def _new_object(
        self, rt: ResourceType, body: Mapping[str, Any], namespace: str | None, *, keep_status: bool
    ) -> JsonObj:
        """A validated, defaulted object ready to be committed as ADDED (not yet stored)."""
        if not isinstance(body, Mapping):
            raise errors.bad_request("the body of the request must be a JSON object")
        obj: JsonObj = copy.deepcopy(dict(body))
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        ns = self._namespace_for(rt, obj, namespace)
        if rt.namespaced:
            meta["namespace"] = ns
            if ("", ns) not in self._objects[RESOURCES[0]]:
                raise errors.namespace_not_found(ns)
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = generate_name(str(meta["generateName"]))
        for server_field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(server_field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        if rt.tracks_generation:
            meta["generation"] = 1
        if rt.has_status and (not keep_status or "status" not in obj):
            obj["status"] = initial_status(rt, obj)
        apply_defaults(rt, obj, allocate_ip=self._allocate_ip)
        causes = validate(rt, obj)
        if causes:
            raise errors.invalid(rt, str(meta.get("name") or ""), causes)
        if self._key(rt, str(meta["name"]), ns) in self._objects[rt]:
            raise errors.already_exists(rt, str(meta["name"]))
        return canonical(rt, obj)

    def create(
        self,
        obj: Mapping[str, Any],
        *,
        resource: str | ResourceType | None = None,
        namespace: str | None = None,
        dry_run: bool = False,
        keep_status: bool = False,
    ) -> JsonObj:
        """POST semantics: 409 if it exists, 404 if its namespace does not, status reset unless ``keep_status``."""
        rt = self._resolve(obj, resource)
        new = self._new_object(rt, obj, namespace, keep_status=keep_status)
        if dry_run:
            return new
        return copy.deepcopy(self._commit(rt, "ADDED", new))
