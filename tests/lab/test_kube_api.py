"""The Kubernetes stand-in driven by the real ``kubernetes_asyncio`` client, as agents drive a real cluster."""

from __future__ import annotations

import base64
import json
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from floe_lab.kube import KubeStore, client_configuration


def _status(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body or b"{}")
    return body


def _deployment(name: str, *containers: tuple[str, str]) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": n, "image": i} for n, i in containers]},
            },
        },
    }


async def test_secret_string_data_is_stored_as_base64_data(kube_api: Any) -> None:
    core: Any = client.CoreV1Api(kube_api)
    body = {"metadata": {"name": "polaris-creds"}, "stringData": {"password": "s3cret"}}
    created = await core.create_namespaced_secret("floe", body)
    assert created.string_data is None
    assert created.type == "Opaque"
    read = await core.read_namespaced_secret("polaris-creds", "floe")
    assert base64.b64decode(read.data["password"]) == b"s3cret"
    assert read.metadata.uid and read.metadata.creation_timestamp is not None
    assert int(read.metadata.resource_version) > 0


async def test_duplicate_create_is_409_already_exists(kube_api: Any) -> None:
    core: Any = client.CoreV1Api(kube_api)
    await core.create_namespaced_config_map("floe", {"metadata": {"name": "cfg"}})
    with pytest.raises(ApiException) as caught:
        await core.create_namespaced_config_map("floe", {"metadata": {"name": "cfg"}})
    assert caught.value.status == 409
    assert _status(caught.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "cfg" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "cfg", "kind": "configmaps"},
        "code": 409,
    }


async def test_missing_object_and_missing_namespace_are_404_not_found(kube_api: Any) -> None:
    core: Any = client.CoreV1Api(kube_api)
    with pytest.raises(ApiException) as caught:
        await core.read_namespaced_secret("x", "floe")
    assert caught.value.status == 404
    assert _status(caught.value)["reason"] == "NotFound"
    assert _status(caught.value)["message"] == 'secrets "x" not found'
    with pytest.raises(ApiException) as caught:
        await core.create_namespaced_secret("nowhere", {"metadata": {"name": "x"}})
    assert _status(caught.value)["message"] == 'namespaces "nowhere" not found'
    leases: Any = client.CoordinationV1Api(kube_api)
    with pytest.raises(ApiException) as caught:
        await leases.read_namespaced_lease("lock", "floe")
    assert _status(caught.value)["details"] == {"name": "lock", "group": "coordination.k8s.io", "kind": "leases"}


async def test_generate_name_and_invalid_names(kube_api: Any) -> None:
    core: Any = client.CoreV1Api(kube_api)
    made = await core.create_namespaced_config_map("floe", {"metadata": {"generateName": "run-"}})
    assert made.metadata.name.startswith("run-")
    assert len(made.metadata.name) == len("run-") + 5
    with pytest.raises(ApiException) as caught:
        await core.create_namespaced_config_map("floe", {"metadata": {"name": "Bad_Name"}})
    status = _status(caught.value)
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"')


async def test_label_and_field_selectors(kube_api: Any) -> None:
    core: Any = client.CoreV1Api(kube_api)
    await core.create_namespace({"metadata": {"name": "other"}})
    pods = {
        ("floe", "api-1"): {"app": "api", "tier": "web"},
        ("floe", "api-2"): {"app": "api"},
        ("floe", "db-1"): {"app": "db", "tier": "data"},
        ("other", "api-3"): {"app": "api", "tier": "web"},
    }
    for (ns, name), labels in pods.items():
        body = {"metadata": {"name": name, "labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
        await core.create_namespaced_pod(ns, body)

    async def names(selector: str, namespace: str | None = "floe", fields: str | None = None) -> list[str]:
        kwargs = {"label_selector": selector, **({"field_selector": fields} if fields else {})}
        if namespace is None:
            result = await core.list_pod_for_all_namespaces(**kwargs)
        else:
            result = await core.list_namespaced_pod(namespace, **kwargs)
        return [p.metadata.name for p in result.items]

    assert await names("app=api") == ["api-1", "api-2"]
    assert await names("app==api,tier=web") == ["api-1"]
    assert await names("tier!=web") == ["api-2", "db-1"]  # != also matches pods without the label
    assert await names("app in (db, nope)") == ["db-1"]
    assert await names("tier notin (web)") == ["api-2", "db-1"]
    assert await names("tier") == ["api-1", "db-1"]
    assert await names("!tier") == ["api-2"]
    assert await names("app=api", namespace=None) == ["api-1", "api-2", "api-3"]
    assert await names("", namespace=None, fields="metadata.namespace=other") == ["api-3"]
    assert await names("", fields="metadata.name!=api-1,status.phase=Pending") == ["api-2", "db-1"]
    with pytest.raises(ApiException) as caught:
        await names("", fields="spec.bogus=1")
    assert (caught.value.status, _status(caught.value)["message"]) == (400, "field label not supported: spec.bogus")


async def test_lists_are_typed_lists_and_page_with_continue(kube_api: Any, kube_url: str, kube_token: str) -> None:
    core: Any = client.CoreV1Api(kube_api)
    for n in range(5):
        await core.create_namespaced_config_map("floe", {"metadata": {"name": f"cm-{n}"}})
    first = await core.list_namespaced_config_map("floe", limit=2)
    assert [c.metadata.name for c in first.items] == ["cm-0", "cm-1"]
    assert first.metadata.remaining_item_count == 3
    rest = await core.list_namespaced_config_map("floe", limit=10, _continue=first.metadata._continue)
    assert [c.metadata.name for c in rest.items] == ["cm-2", "cm-3", "cm-4"]
    headers = {"Authorization": f"Bearer {kube_token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"{kube_url}/api/v1/namespaces/floe/configmaps") as response,
    ):
        raw = await response.json()
        assert response.headers["Content-Type"] == "application/json"
    assert (raw["kind"], raw["apiVersion"]) == ("ConfigMapList", "v1")
    assert raw["metadata"]["resourceVersion"].isdigit()
    assert "kind" not in raw["items"][0]  # items of a typed list carry no kind/apiVersion, as on a real cluster


async def test_stale_resource_version_is_409_conflict_so_a_lease_is_a_lock(kube_api: Any) -> None:
    leases: Any = client.CoordinationV1Api(kube_api)
    spec = {"holderIdentity": "agent-a", "leaseDurationSeconds": 15}
    await leases.create_namespaced_lease("floe", {"metadata": {"name": "diagnoser"}, "spec": spec})
    seen_by_a = await leases.read_namespaced_lease("diagnoser", "floe")
    seen_by_b = await leases.read_namespaced_lease("diagnoser", "floe")
    seen_by_a.spec.holder_identity = "agent-a"
    seen_by_a.spec.lease_transitions = 1
    seen_by_b.spec.holder_identity = "agent-b"
    won = await leases.replace_namespaced_lease("diagnoser", "floe", seen_by_a)
    assert int(won.metadata.resource_version) > int(seen_by_b.metadata.resource_version)
    with pytest.raises(ApiException) as caught:
        await leases.replace_namespaced_lease("diagnoser", "floe", seen_by_b)
    status = _status(caught.value)
    assert (status["code"], status["reason"]) == (409, "Conflict")
    assert status["message"] == (
        'Operation cannot be fulfilled on leases.coordination.k8s.io "diagnoser": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert (await leases.read_namespaced_lease("diagnoser", "floe")).spec.holder_identity == "agent-a"


async def test_patch_deployment_merge_strategic_and_json(kube_api: Any) -> None:
    apps: Any = client.AppsV1Api(kube_api)
    created = await apps.create_namespaced_deployment(
        "floe", _deployment("polaris", ("app", "polaris:1"), ("proxy", "envoy:1"))
    )
    assert (created.metadata.generation, created.spec.replicas) == (1, 1)
    assert created.spec.strategy.type == "RollingUpdate"
    # kubernetes_asyncio sends a dict as a strategic merge patch: containers merge by name
    patched = await apps.patch_namespaced_deployment(
        "polaris", "floe", {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "polaris:2"}]}}}}
    )
    assert [(c.name, c.image) for c in patched.spec.template.spec.containers] == [
        ("app", "polaris:2"),
        ("proxy", "envoy:1"),
    ]
    assert patched.metadata.generation == 2
    ops = [
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "add", "path": "/metadata/labels/team", "value": "data"},
    ]
    patched = await apps.patch_namespaced_deployment("polaris", "floe", ops)
    assert (patched.spec.replicas, patched.metadata.labels["team"], patched.metadata.generation) == (3, "data", 3)
    merged = await apps.patch_namespaced_deployment(
        "polaris", "floe", {"metadata": {"labels": {"team": None}}}, _content_type="application/merge-patch+json"
    )
    assert "team" not in merged.metadata.labels
    assert merged.metadata.generation == 3  # metadata-only change: no new generation
    with pytest.raises(ApiException) as caught:
        await apps.patch_namespaced_deployment("polaris", "floe", {"metadata": {"resourceVersion": "1"}})
    assert caught.value.status == 409
    scale = await apps.patch_namespaced_deployment_scale("polaris", "floe", {"spec": {"replicas": 0}})
    assert (scale.spec.replicas, scale.status.selector) == (0, "app=polaris")
    assert (await apps.read_namespaced_deployment("polaris", "floe")).spec.replicas == 0


async def test_status_subresource_changes_only_status(kube_api: Any) -> None:
    apps: Any = client.AppsV1Api(kube_api)
    await apps.create_namespaced_deployment("floe", _deployment("dagster", ("web", "dagster:1")))
    dep = await apps.read_namespaced_deployment("dagster", "floe")
    dep.status = client.V1DeploymentStatus(ready_replicas=1, replicas=1, observed_generation=1)
    dep.spec.replicas = 7  # ignored on /status
    updated = await apps.replace_namespaced_deployment_status("dagster", "floe", dep)
    assert (updated.status.ready_replicas, updated.spec.replicas) == (1, 1)
    updated.status.ready_replicas = 0  # ignored on the main resource
    updated.spec.replicas = 2
    replaced = await apps.replace_namespaced_deployment("dagster", "floe", updated)
    assert (replaced.status.ready_replicas, replaced.spec.replicas, replaced.metadata.generation) == (1, 2, 2)
    patched = await apps.patch_namespaced_deployment_status("dagster", "floe", {"status": {"readyReplicas": 2}})
    assert patched.status.ready_replicas == 2
    read = await apps.read_namespaced_deployment_status("dagster", "floe")
    assert read.status.ready_replicas == 2


async def test_delete_answers_status_or_object_and_collects_garbage(kube_api: Any, kube_store: KubeStore) -> None:
    core: Any = client.CoreV1Api(kube_api)
    apps: Any = client.AppsV1Api(kube_api)
    await core.create_namespaced_secret("floe", {"metadata": {"name": "s"}})
    gone = await core.delete_namespaced_secret("s", "floe")
    assert (gone.status, gone.details.name, gone.details.kind) == ("Success", "s", "secrets")
    dep = await apps.create_namespaced_deployment("floe", _deployment("web", ("c", "i")))
    owner = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": dep.metadata.uid, "controller": True}
    ]
    pod = {
        "metadata": {"name": "web-1", "ownerReferences": owner},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }
    await core.create_namespaced_pod("floe", pod)
    deleted_pod = await core.delete_namespaced_pod("web-1", "floe")  # pods answer with the object
    assert deleted_pod.metadata.name == "web-1"
    await core.create_namespaced_pod("floe", pod)
    await apps.delete_namespaced_deployment("web", "floe")
    assert kube_store.find("pods", "web-1", "floe") is None  # background propagation deleted the dependent


async def test_deleting_a_namespace_deletes_its_contents(kube_api: Any, kube_store: KubeStore) -> None:
    core: Any = client.CoreV1Api(kube_api)
    await core.create_namespaced_config_map("floe", {"metadata": {"name": "cfg"}})
    answer = await core.delete_namespace("floe")
    # the real server answers with the Terminating Namespace (which the client squeezes into a V1Status)
    assert (answer.kind, answer.status) == ("Namespace", str({"phase": "Terminating"}))
    assert kube_store.list("configmaps", "floe") == []
    with pytest.raises(ApiException) as caught:
        await core.read_namespace("floe")
    assert caught.value.status == 404


async def test_pod_log(kube_api: Any, kube_store: KubeStore) -> None:
    core: Any = client.CoreV1Api(kube_api)
    containers = [{"name": "app", "image": "i"}, {"name": "sidecar", "image": "j"}]
    await core.create_namespaced_pod("floe", {"metadata": {"name": "p"}, "spec": {"containers": containers}})
    with pytest.raises(ApiException) as caught:
        await core.read_namespaced_pod_log("p", "floe", container="app")
    assert _status(caught.value)["message"] == 'container "app" in pod "p" is waiting to start: ContainerCreating'
    kube_store.set_pod_log("floe", "p", "starting\nready\n", container="app")
    assert await core.read_namespaced_pod_log("p", "floe", container="app") == "starting\nready\n"
    assert await core.read_namespaced_pod_log("p", "floe", container="app", tail_lines=1) == "ready\n"
    with pytest.raises(ApiException) as caught:
        await core.read_namespaced_pod_log("p", "floe")
    assert (
        _status(caught.value)["message"] == "a container name must be specified for pod p, choose one of: [app sidecar]"
    )
    assert caught.value.status == 400


async def test_auth_wrong_or_missing_token_is_401(kube_url: str) -> None:
    async with client.ApiClient(client_configuration(kube_url, "wrong")) as api:
        with pytest.raises(ApiException) as caught:
            await client.CoreV1Api(api).list_namespace()
    assert caught.value.status == 401
    assert _status(caught.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{kube_url}/api/v1/namespaces") as response:
            assert response.status == 401
        async with http.get(f"{kube_url}/readyz") as response:  # public health endpoints need no token
            assert (response.status, await response.text()) == (200, "ok")


async def test_discovery_and_raw_errors(kube_api: Any, kube_url: str, kube_token: str) -> None:
    version = await client.VersionApi(kube_api).get_code()
    assert (version.major, version.git_version.startswith("v1.")) == ("1", True)
    groups = await client.ApisApi(kube_api).get_api_versions()
    assert {g.name for g in groups.groups} >= {"apps", "batch", "coordination.k8s.io", "rbac.authorization.k8s.io"}
    resources = await client.CoreV1Api(kube_api).get_api_resources()
    by_name = {r.name: r for r in resources.resources}
    assert by_name["pods"].namespaced and not by_name["namespaces"].namespaced
    assert {"pods/log", "pods/status", "secrets", "events"} <= set(by_name)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {kube_token}"}) as http:
        async with http.get(f"{kube_url}/api/v1/namespaces/floe/widgets") as response:
            assert response.status == 404
            assert (await response.json())["message"] == "the server could not find the requested resource"
        async with http.post(
            f"{kube_url}/api/v1/namespaces/floe/configmaps",
            data=b"{not json",
            headers={"Content-Type": "application/json"},
        ) as response:
            body = await response.json()
            assert (response.status, body["kind"], body["reason"]) == (400, "Status", "BadRequest")
