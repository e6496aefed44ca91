"""Discovery documents: ``/version``, ``/api``, ``/apis``, ``/apis/<group>`` and the APIResourceLists.

Why: clients (``kubectl``, dynamic clients, the agents' own capability checks) ask the server what it serves
before using it. The answers list exactly the table in :mod:`.resources`, so a client learns the truth about
this stand-in: what is missing here is missing from discovery too.
"""

from __future__ import annotations

import hashlib
from typing import Any

from floe_lab.kube.resources import RESOURCES, ResourceType, group_versions

__all__ = ["VERSION", "api_group", "api_group_list", "api_resource_list", "api_versions"]

VERSION: dict[str, str] = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.0+floe-lab",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-04-23T00:00:00Z",
    "goVersion": "go1.24.2",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _storage_hash(rt: ResourceType) -> str:
    digest = hashlib.sha256(f"{rt.api_version}/{rt.kind}".encode()).digest()
    return hashlib.sha256(digest).hexdigest()[:11]


def _entries(rt: ResourceType) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": rt.verbs,
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    if not rt.virtual:  # a review is never stored: no storage version
        main["storageVersionHash"] = _storage_hash(rt)
    entries = [main]
    if rt.has_status:
        entries.append(
            {
                "name": f"{rt.plural}/status",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    if rt.has_scale:
        entries.append(
            {
                "name": f"{rt.plural}/scale",
                "singularName": "",
                "namespaced": rt.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }
        )
    if rt.plural == "pods":
        entries.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]})
    if rt.plural == "serviceaccounts":
        token = {"name": "serviceaccounts/token", "singularName": "", "namespaced": True}
        token |= {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"]}
        entries.append(token)
    return entries


def api_resource_list(group_version: str) -> dict[str, Any] | None:
    """The APIResourceList for ``v1`` or ``<group>/<version>``, or None if not served."""
    types = group_versions().get(group_version)
    if types is None:
        return None
    resources = [entry for rt in types for entry in _entries(rt)]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str) -> dict[str, Any]:
    versions = sorted({rt.version for rt in RESOURCES if rt.group == name})
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group(name: str) -> dict[str, Any] | None:
    """The APIGroup document for ``/apis/<name>``, or None if no such group is served."""
    if not name or all(rt.group != name for rt in RESOURCES):
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def api_group_list() -> dict[str, Any]:
    groups = list(dict.fromkeys(rt.group for rt in RESOURCES if rt.group))
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in groups]}
