"""The object store the lab uses: :class:`KubeStore`, the stand-in's etcd plus the generic registry's rules.

Why one class for both doors: the HTTP server (what agents and ``kubernetes_asyncio`` talk to) and the lab's
reconciler (playing kubelet and controllers in-process) must see the same objects, resourceVersions and watch
events, or the lab would test a world that cannot exist. Read and create live in :mod:`.core`, deletion in
:mod:`.deletion`; this module adds replace, status updates, patches, seeding and pod logs.

Python API, for the reconciler (every method is synchronous, so check-and-write is atomic on the event loop)::

    store = KubeStore()
    store.create(manifest) / store.get("pods", name, ns) / store.find(...) / store.list("pods", ns, label_selector=...)
    store.replace(obj) / store.update_status(obj) / store.patch("deployments", name, {...}, namespace=ns)
    store.put(obj)                    # upsert, keeps status: seed state or play a controller
    store.delete("pods", name, ns)    # finalizers, graceful pods and garbage collection as a cluster does
    async with store.subscribe("pods", ns) as events: async for event in events: ...
    store.set_pod_log(ns, pod, "text\\n") / store.append_pod_log(ns, pod, "more\\n")
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Iterable, Mapping
from typing import Any

from floe_lab.kube import errors
from floe_lab.kube.deletion import DeletingStore
from floe_lab.kube.errors import ApiError
from floe_lab.kube.objects import JsonObj, apply_defaults, canonical
from floe_lab.kube.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from floe_lab.kube.resources import RESOURCES, ResourceType
from floe_lab.kube.validation import validate

__all__ = ["PATCH_TYPES", "KubeStore"]

# Content-Type of a PATCH request -> patch_type of KubeStore.patch.
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
}
# Metadata the server owns: a write cannot change it.
_SERVER_META = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds")


class KubeStore(DeletingStore):
    """All objects of the stand-in cluster, and the writes allowed on them (see the module docstring)."""

    def replace(
        self,
        obj: Mapping[str, Any],
        *,
        resource: str | ResourceType | None = None,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> JsonObj:
        """PUT semantics: a stale ``metadata.resourceVersion`` is a 409 Conflict (none: unconditional).

        Changes to ``status`` are ignored unless ``subresource="status"``, which changes only ``status``.
        Types that allow it (Services, Endpoints, Events, Leases, Roles, RoleBindings) are created if missing.
        """
        rt = self._resolve(obj, resource)
        body_name = str((obj.get("metadata") or {}).get("name") or "")
        if name is not None and body_name and body_name != name:
            raise errors.bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        name = name or body_name
        if not name:
            raise errors.bad_request("resource name may not be empty")
        ns = self._namespace_for(rt, dict(obj), namespace)
        existing = self._objects[rt].get(self._key(rt, name, ns))
        if existing is None:
            if subresource is None and rt.create_on_update:
                body = copy.deepcopy(dict(obj))
                body.setdefault("metadata", {})["name"] = name
                return self.create(body, resource=rt, namespace=ns or None, dry_run=dry_run)
            raise errors.not_found(rt, name)
        return self._update(rt, existing, obj, subresource=subresource, dry_run=dry_run)

    def update_status(self, obj: Mapping[str, Any], *, namespace: str | None = None) -> JsonObj:
        """Replace only ``status`` (the ``/status`` subresource), with the same optimistic concurrency."""
        return self.replace(obj, namespace=namespace, subresource="status")

    def patch(
        self,
        resource: str | ResourceType,
        name: str,
        body: Any,
        *,
        namespace: str | None = None,
        patch_type: str = "merge",
        subresource: str | None = None,
        dry_run: bool = False,
        field_manager: str | None = None,
    ) -> JsonObj:
        """Patch an object; ``patch_type`` is ``merge``, ``strategic``, ``json`` or ``apply`` (see :data:`PATCH_TYPES`).

        A ``metadata.resourceVersion`` in the patch is a precondition (409 if stale). ``apply`` (server-side
        apply, approximated) needs ``field_manager`` and creates the object if it does not exist.
        """
        rt = self.resource(resource)
        if patch_type == "apply":
            if not field_manager:
                raise ApiError(
                    422,
                    "Invalid",
                    'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                )
            if subresource is None and self.find(rt, name, namespace) is None:
                if not isinstance(body, Mapping):
                    raise errors.bad_request("apply patch must be an object")
                created = copy.deepcopy(dict(body))
                created.setdefault("metadata", {}).setdefault("name", name)
                return self.create(created, resource=rt, namespace=namespace, dry_run=dry_run)
        old = self._stored(rt, name, namespace)
        patched = self._apply_patch(old, body, patch_type)
        if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
            raise ApiError(422, "Invalid", "the patch produced an object without metadata")
        patched_name = patched["metadata"].get("name")
        if patched_name != name:
            raise errors.bad_request(
                f"the name of the object ({patched_name}) does not match the name on the URL ({name})"
            )
        return self._update(rt, old, patched, subresource=subresource, dry_run=dry_run)

    @staticmethod
    def _apply_patch(old: JsonObj, body: Any, patch_type: str) -> Any:
        if patch_type not in PATCH_TYPES.values():
            raise errors.unsupported_media_type()
        if patch_type != "json" and not isinstance(body, dict):
            raise errors.bad_request("the patch must be a JSON object")
        try:
            if patch_type == "json":
                return json_patch(old, body)
            if patch_type == "merge":
                return merge_patch(old, body)
            return strategic_merge_patch(old, body)
        except PatchError as exc:
            raise ApiError(
                422, "Invalid", f"the server rejected our request due to an error in our request: {exc}"
            ) from None

    def put(self, obj: Mapping[str, Any], *, namespace: str | None = None) -> JsonObj:
        """Create or overwrite unconditionally, keeping the given status (to seed state or play a controller)."""
        rt = self._resolve(obj, None)
        body = copy.deepcopy(dict(obj))
        name = str(body.get("metadata", {}).get("name") or "")
        existing = self._objects[rt].get(self._key(rt, name, self._namespace_for(rt, body, namespace)))
        if existing is None:
            return self.create(body, namespace=namespace, keep_status=True)
        body["metadata"].pop("resourceVersion", None)
        return self._update(rt, existing, body, subresource=None, keep_status="status" in body)

    def _update(
        self,
        rt: ResourceType,
        old: JsonObj,
        body: Mapping[str, Any],
        *,
        subresource: str | None,
        keep_status: bool = False,
        dry_run: bool = False,
    ) -> JsonObj:
        old_meta = old["metadata"]
        name = str(old_meta["name"])
        sent_rv = (body.get("metadata") or {}).get("resourceVersion")
        if sent_rv not in (None, "") and str(sent_rv) != old_meta["resourceVersion"]:
            raise errors.conflict(rt, name)
        if subresource == "status":
            new = copy.deepcopy(old)
            new["status"] = copy.deepcopy(body.get("status") or {})
        elif subresource is not None:
            raise errors.path_not_found()
        else:
            new = self._merged_for_update(rt, old, body, keep_status=keep_status)
        new["metadata"]["resourceVersion"] = old_meta["resourceVersion"]
        if new == old or dry_run:
            return copy.deepcopy(new)  # a no-op write: no new resourceVersion, no watch event
        if (
            old_meta.get("finalizers")
            and not new["metadata"].get("finalizers")
            and new["metadata"].get("deletionTimestamp")
        ):
            return copy.deepcopy(self._remove(rt, new, "Background"))  # last finalizer gone: deletion completes
        return copy.deepcopy(self._commit(rt, "MODIFIED", new, old))

    def _merged_for_update(
        self, rt: ResourceType, old: JsonObj, body: Mapping[str, Any], *, keep_status: bool
    ) -> JsonObj:
        old_meta = old["metadata"]
        new: JsonObj = copy.deepcopy(dict(body))
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        meta = new.setdefault("metadata", {})
        meta["name"] = old_meta["name"]
        if rt.namespaced:
            meta["namespace"] = old_meta["namespace"]
        for field in _SERVER_META:
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        if rt.has_status and not keep_status:
            new["status"] = copy.deepcopy(old.get("status") or {})
        if rt.plural == "services":  # allocated values carry over when a PUT omits them
            old_spec, spec = old.get("spec") or {}, new.setdefault("spec", {})
            for allocated in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                if not spec.get(allocated) and old_spec.get(allocated):
                    spec[allocated] = copy.deepcopy(old_spec[allocated])
        apply_defaults(rt, new, allocate_ip=self._allocate_ip)
        if rt.tracks_generation and new.get("spec") != old.get("spec"):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        causes = validate(rt, new)
        if causes:
            raise errors.invalid(rt, str(meta["name"]), causes)
        return canonical(rt, new)

    def load(self, manifests: Iterable[Mapping[str, Any]]) -> builtins.list[JsonObj]:
        """Seed objects (``put`` each, status kept); the namespaces they need are created first."""
        items = sorted(manifests, key=lambda m: m.get("kind") != "Namespace")
        stored = []
        for manifest in items:
            rt = self._resolve(manifest, None)
            ns = str((manifest.get("metadata") or {}).get("namespace") or "default")
            if rt.namespaced and ("", ns) not in self._objects[RESOURCES[0]]:
                self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            stored.append(self.put(manifest))
        return stored

    def set_pod_log(
        self, namespace: str, pod: str, text: str, *, container: str | None = None, previous: bool = False
    ) -> None:
        """Replace what ``pods/{pod}/log`` serves for a container (default: the pod's first container)."""
        name = self._container(namespace, pod, container)
        self.logs.write(namespace, pod, name, text, append=False, previous=previous)

    def append_pod_log(self, namespace: str, pod: str, text: str, *, container: str | None = None) -> None:
        """Append to a container's log; ``follow=true`` readers receive it."""
        name = self._container(namespace, pod, container)
        self.logs.write(namespace, pod, name, text, append=True, previous=False)

    def _container(self, namespace: str, pod: str, container: str | None) -> str:
        spec = self._stored(self.resource("pods"), pod, namespace).get("spec") or {}
        if container is not None:
            return container
        names = [str(c.get("name")) for c in spec.get("containers") or [] if isinstance(c, dict)]
        return names[0] if names else ""
