"""The OpenAPI v3 documents (``floe_lab/kube/openapi.py``) kubectl reads before it validates a manifest: an index
of every served group/version, and per group/version the PATCH operation of each kind, which takes
``fieldValidation`` (so kubectl leaves validation to the server) and the four patch types."""

from __future__ import annotations

from typing import Any

import aiohttp

from floe_lab.kube import KubeStore, serve
from floe_lab.kube.openapi import group_version_document, index
from floe_lab.kube.resources import group_versions


def _patch_of(document: dict[str, Any], kind: str) -> dict[str, Any]:
    [patch] = [
        ops["patch"]
        for path, ops in document["paths"].items()
        if "patch" in ops
        and ops["patch"]["x-kubernetes-group-version-kind"]["kind"] == kind
        and "{name}" in path
        and not path.endswith(("/status", "/scale"))
    ]
    return dict(patch)


def test_the_index_names_a_document_per_served_group_version() -> None:
    paths = index()["paths"]
    assert set(paths) == {f"api/{gv}" if "/" not in gv else f"apis/{gv}" for gv in group_versions()}
    assert paths["apis/apps/v1"]["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1?hash=")
    assert group_version_document("apis/nothing.example/v1") is None


def test_each_kind_patches_with_field_validation_and_the_four_patch_types() -> None:
    apps = group_version_document("apis/apps/v1")
    assert apps is not None
    patch = _patch_of(apps, "Deployment")
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "kind": "Deployment", "version": "v1"}
    assert {"name": "fieldValidation", "in": "query"}.items() <= next(
        p for p in patch["parameters"] if p["name"] == "fieldValidation"
    ).items()
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    assert patch["operationId"] == "patchAppsV1NamespacedDeployment"
    core = group_version_document("api/v1")
    assert core is not None
    assert _patch_of(core, "Namespace")["operationId"] == "patchCoreV1Namespace"
    assert "/api/v1/namespaces/{namespace}/pods/{name}/log" in core["paths"]


async def test_served_to_authenticated_clients() -> None:
    async with serve(KubeStore(), token="t") as url, aiohttp.ClientSession() as http:
        async with http.get(f"{url}/openapi/v3") as anonymous:
            assert anonymous.status == 401
        headers = {"Authorization": "Bearer t"}
        async with http.get(f"{url}/openapi/v3", headers=headers) as found:
            relative = (await found.json())["paths"]["apis/batch/v1"]["serverRelativeURL"]
        async with http.get(f"{url}{relative}", headers=headers) as document:
            assert (document.status, document.content_type) == (200, "application/json")
            assert (await document.json())["openapi"] == "3.0.0"
        async with http.get(f"{url}/openapi/v3/apis/batch/v9", headers=headers) as missing:
            assert missing.status == 404
