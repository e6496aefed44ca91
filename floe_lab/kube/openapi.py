"""OpenAPI v3 documents: ``/openapi/v3`` (the index) and ``/openapi/v3/api/v1``, ``/openapi/v3/apis/<g>/<v>``.

Why: ``kubectl create -f`` and ``kubectl apply`` validate a manifest before sending it (``--validate=strict`` by
default). kubectl first asks the OpenAPI v3 document of the manifest's group/version whether the PATCH operation
of its kind takes the ``fieldValidation`` query parameter; if so, the *server* validates (kubectl sends
``fieldValidation=Strict``) and no schema is needed on the client. Without these documents kubectl falls back to
downloading the OpenAPI v2 document (protobuf) and gives up with "failed to download openapi".

So each group/version's document lists the paths of the resources :mod:`.resources` serves, with their operations
(``x-kubernetes-group-version-kind``, ``x-kubernetes-action``, the query parameters, the PATCH body types), and no
component schemas: ``kubectl apply`` then computes its strategic merge patches from the schemas built into it (as
it does for any type the documents do not describe), and ``kubectl explain`` is not served. ``/openapi/v2`` stays a
404: kubectl only reads it when the v3 documents are missing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from floe_lab.kube.discovery import VERSION
from floe_lab.kube.resources import ResourceType, group_versions

__all__ = ["group_version_document", "index"]

JsonObj = dict[str, Any]

_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
_OK = {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}}


def _query(name: str, kind: str = "string") -> JsonObj:
    return {"name": name, "in": "query", "schema": {"type": kind, "uniqueItems": True}}


def _path_param(name: str) -> JsonObj:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "uniqueItems": True}}


_WRITE_PARAMS = [_query("dryRun"), _query("fieldManager"), _query("fieldValidation")]
_LIST_PARAMS = [
    *(_query(n) for n in ("continue", "fieldSelector", "labelSelector", "resourceVersion")),
    _query("limit", "integer"),
    _query("timeoutSeconds", "integer"),
    _query("watch", "boolean"),
    _query("allowWatchBookmarks", "boolean"),
]


def _camel(rt: ResourceType) -> str:
    """The operationId's group part: ``CoreV1``, ``AppsV1``, ``RbacAuthorizationV1`` (as the real spec spells it)."""
    group = rt.group.removesuffix(".k8s.io") or "core"
    return "".join(word[:1].upper() + word[1:] for word in group.split(".")) + rt.version.capitalize()


def _operation(rt: ResourceType, verb: str, action: str, what: str, params: list[JsonObj]) -> JsonObj:
    scope = "Namespaced" if rt.namespaced else ""
    op: JsonObj = {
        "operationId": f"{verb}{_camel(rt)}{scope}{what}",
        "tags": [_camel(rt)[:1].lower() + _camel(rt)[1:]],
        "parameters": params,
        "responses": _OK,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rt.group, "kind": rt.kind, "version": rt.version},
    }
    if action == "patch":
        op["requestBody"] = {"content": {t: {"schema": {"type": "object"}} for t in _PATCH_TYPES}, "required": True}
    elif action in ("post", "put"):
        op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}, "required": True}
    return op


def _object_ops(rt: ResourceType, suffix: str = "") -> JsonObj:
    what = rt.kind + suffix
    ops = {
        "get": _operation(rt, "read", "get", what, []),
        "put": _operation(rt, "replace", "put", what, _WRITE_PARAMS),
        "patch": _operation(rt, "patch", "patch", what, [*_WRITE_PARAMS, _query("force", "boolean")]),
    }
    if not suffix:
        ops["delete"] = _operation(rt, "delete", "delete", what, [_query("dryRun"), _query("propagationPolicy")])
    return ops


def _paths(rt: ResourceType) -> dict[str, JsonObj]:
    base = f"/api/{rt.version}" if not rt.group else f"/apis/{rt.group}/{rt.version}"
    scoped = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
    scope_params = [_path_param("namespace")] if rt.namespaced else []
    named = [_path_param("name"), *scope_params]
    if rt.virtual:  # a review: created (asked), never read back
        return {scoped: {"post": _operation(rt, "create", "post", rt.kind, _WRITE_PARAMS), "parameters": scope_params}}
    paths: dict[str, JsonObj] = {
        scoped: {
            "get": _operation(rt, "list", "list", rt.kind, _LIST_PARAMS),
            "post": _operation(rt, "create", "post", rt.kind, _WRITE_PARAMS),
            "delete": _operation(rt, "deletecollection", "deletecollection", rt.kind, _LIST_PARAMS),
            "parameters": scope_params,
        },
        f"{scoped}/{{name}}": {**_object_ops(rt), "parameters": named},
    }
    if rt.namespaced:
        all_namespaces = _operation(rt, "list", "list", f"{rt.kind}ForAllNamespaces", _LIST_PARAMS)
        all_namespaces["operationId"] = f"list{_camel(rt)}{rt.kind}ForAllNamespaces"
        paths[f"{base}/{rt.plural}"] = {"get": all_namespaces}
    if rt.has_status:
        paths[f"{scoped}/{{name}}/status"] = {**_object_ops(rt, "Status"), "parameters": named}
    if rt.has_scale:
        scale = _object_ops(rt, "Scale")
        for op in scale.values():
            op["x-kubernetes-group-version-kind"] = {"group": "autoscaling", "kind": "Scale", "version": "v1"}
        paths[f"{scoped}/{{name}}/scale"] = {**scale, "parameters": named}
    if rt.plural == "serviceaccounts":
        token = _operation(rt, "create", "post", "ServiceAccountToken", _WRITE_PARAMS)
        token["x-kubernetes-group-version-kind"] = {
            "group": "authentication.k8s.io",
            "kind": "TokenRequest",
            "version": "v1",
        }
        paths[f"{scoped}/{{name}}/token"] = {"post": token, "parameters": named}
    if rt.plural == "pods":
        log = _operation(rt, "read", "get", "PodLog", [_query("container"), _query("tailLines", "integer")])
        paths[f"{scoped}/{{name}}/log"] = {"get": log, "parameters": named}
    return paths


def _api_path(group_version: str) -> str:
    """``api/v1`` or ``apis/<group>/<version>``: the keys of the index and the paths of the documents."""
    return f"api/{group_version}" if "/" not in group_version else f"apis/{group_version}"


def group_version_document(api_path: str) -> JsonObj | None:
    """The OpenAPI v3 document of ``api/v1`` or ``apis/<group>/<version>`` (None if no such group/version)."""
    for group_version, types in group_versions().items():
        if _api_path(group_version) == api_path:
            paths: dict[str, JsonObj] = {}
            for rt in types:
                paths.update(_paths(rt))
            info = {"title": "Kubernetes", "version": VERSION["gitVersion"]}
            return {"openapi": "3.0.0", "info": info, "paths": paths, "components": {}}
    return None


def _hash(document: JsonObj) -> str:
    return hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest().upper()


def index() -> JsonObj:
    """``/openapi/v3``: each group/version's document by path, its URL carrying the hash of its content."""
    paths: dict[str, JsonObj] = {}
    for group_version in group_versions():
        api_path = _api_path(group_version)
        document = group_version_document(api_path)
        assert document is not None
        paths[api_path] = {"serverRelativeURL": f"/openapi/v3/{api_path}?hash={_hash(document)}"}
    return {"paths": paths}
