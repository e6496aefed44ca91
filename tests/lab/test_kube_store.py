"""The stand-in's store through its Python API, as the lab's reconciler (playing kubelet) will use it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from floe_lab.kube import ApiError, KubeStore, load_manifests
from floe_lab.kube.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from floe_lab.kube.resources import find_resource
from floe_lab.kube.selectors import parse_label_selector


def _pod(name: str, namespace: str = "default", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
    }


def test_create_applies_server_side_fields_and_defaults() -> None:
    store = KubeStore()
    pod = store.create(_pod("p"))
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    svc = store.create(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "polaris"}, "spec": {"ports": [{"port": 8181}]}}
    )
    assert svc["spec"]["clusterIP"].startswith("10.96.")
    assert svc["spec"]["ports"] == [{"port": 8181, "protocol": "TCP", "targetPort": 8181}]
    job = store.create(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "seed"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}},
        }
    )
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert job["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "seed"
    assert job["metadata"]["generation"] == 1
    assert int(svc["metadata"]["resourceVersion"]) > int(pod["metadata"]["resourceVersion"])


def test_validation_matches_the_real_apiserver() -> None:
    store = KubeStore()
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "other"}},
                "spec": {"containers": [{"name": "c", "image": "i"}]},
            },
        },
    }
    with pytest.raises(ApiError) as caught:
        store.create(deployment)
    assert caught.value.code == 422
    assert caught.value.message == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"other"}: `selector` does not match template `labels`'
    )
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
    }
    with pytest.raises(ApiError, match=r'spec\.template\.spec\.restartPolicy: Unsupported value: "Always"'):
        store.create(job)


async def test_subscribe_streams_changes_to_the_reconciler() -> None:
    store = KubeStore()
    store.create(_pod("existing", app="x"))
    async with store.subscribe("pods", "default", send_initial=True, label_selector="app=x") as events:
        store.create(_pod("other", app="y"))  # not matching: never delivered
        pod = store.create(_pod("new", app="x"))
        pod["status"] = {"phase": "Running"}
        store.update_status(pod)
        store.delete("pods", "new")
        seen = []
        with anyio.fail_after(2):
            async for event in events:
                seen.append((event.type, event.object["metadata"]["name"], event.object["status"]["phase"]))
                if event.type == "DELETED":
                    break
    assert seen == [
        ("ADDED", "existing", "Pending"),
        ("ADDED", "new", "Pending"),
        ("MODIFIED", "new", "Running"),
        ("DELETED", "new", "Running"),
    ]


async def test_a_lagging_subscriber_is_dropped_and_can_resume() -> None:
    store = KubeStore(subscriber_buffer=2)
    start = store.resource_version
    async with store.subscribe("configmaps") as sub:
        for n in range(4):
            store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{n}"}})
        received = [e.object["metadata"]["name"] async for e in sub]  # ends: it was dropped, like a slow watch
        assert sub.dropped
    assert received == ["c0", "c1"]
    async with store.subscribe("configmaps", since=start) as resumed:
        with anyio.fail_after(1):
            names = [(await resumed.__anext__()).object["metadata"]["name"] for _ in range(4)]
    assert names == ["c0", "c1", "c2", "c3"]


def test_expired_resource_version_is_410() -> None:
    store = KubeStore(history_size=3)
    for n in range(5):
        store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{n}"}})
    with pytest.raises(ApiError) as caught:
        store.subscribe("configmaps", since="2")
    assert (caught.value.code, caught.value.reason) == (410, "Expired")


def test_noop_update_keeps_the_resource_version() -> None:
    store = KubeStore()
    cm = store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}})
    assert store.replace(cm)["metadata"]["resourceVersion"] == cm["metadata"]["resourceVersion"]
    cm["data"]["k"] = "w"
    assert store.replace(cm)["metadata"]["resourceVersion"] != cm["metadata"]["resourceVersion"]
    with pytest.raises(ApiError) as caught:
        store.replace(cm)  # cm still carries the old resourceVersion
    assert caught.value.reason == "Conflict"


def test_finalizers_keep_an_object_terminating_until_removed() -> None:
    store = KubeStore()
    store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["floe/hold"]}})
    terminating = store.delete("configmaps", "c")
    assert terminating["metadata"]["deletionTimestamp"]
    assert store.find("configmaps", "c") is not None
    store.patch("configmaps", "c", {"metadata": {"finalizers": None}})
    assert store.find("configmaps", "c") is None


def test_graceful_pod_deletion_waits_for_the_kubelet() -> None:
    store = KubeStore(graceful_pod_deletion=True)
    pod = _pod("p")
    pod["spec"]["nodeName"] = "lab-node"
    store.create(pod)
    marked = store.delete("pods", "p")
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert store.find("pods", "p") is not None
    store.delete("pods", "p", grace_period_seconds=0)  # what the kubelet does once the containers stopped
    assert store.find("pods", "p") is None


def test_jobs_orphan_their_pods_by_default() -> None:
    store = KubeStore()
    job = store.create(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "j"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}},
        }
    )
    pod = _pod("j-abcde")
    pod["metadata"]["ownerReferences"] = [
        {"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": job["metadata"]["uid"]}
    ]
    store.create(pod)
    store.delete("jobs", "j")
    assert "ownerReferences" not in store.get("pods", "j-abcde")["metadata"]


def test_load_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.yaml"
    running = _pod("polaris-0", "floe", app="polaris")
    running["status"] = {"phase": "Running", "podIP": "10.1.0.7"}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "floe"},
        "stringData": {"k": "v"},
    }
    path.write_text(json.dumps(running) + "\n---\n" + json.dumps({"kind": "List", "items": [secret]}))
    store = KubeStore()
    store.load(load_manifests(path))
    assert store.get("pods", "polaris-0", "floe")["status"]["phase"] == "Running"  # seeded status is kept
    assert store.list("pods", "floe", field_selector="status.podIP=10.1.0.7")[0]["metadata"]["name"] == "polaris-0"
    assert store.get("secrets", "s", "floe")["data"] == {"k": "dg=="}


def test_label_selector_parser_rejects_garbage() -> None:
    assert [r.op for r in parse_label_selector("a=b, c!=d, e in (f, g), h notin (i), j, !k")] == [
        "=",
        "!=",
        "in",
        "notin",
        "exists",
        "!",
    ]
    with pytest.raises(ApiError) as caught:
        parse_label_selector("a in b")
    assert caught.value.code == 400


def test_patch_formats() -> None:
    doc = {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}], "x": 1}}
    assert merge_patch(doc, {"spec": {"x": None}}) == {"spec": {"containers": doc["spec"]["containers"]}}
    smp = strategic_merge_patch(
        doc, {"spec": {"containers": [{"name": "b", "$patch": "delete"}, {"name": "c", "image": "2"}]}}
    )
    assert [c["name"] for c in smp["spec"]["containers"]] == ["a", "c"]
    ops = [{"op": "test", "path": "/spec/x", "value": 1}, {"op": "move", "from": "/spec/x", "path": "/y"}]
    assert json_patch(doc, ops)["y"] == 1
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "test", "path": "/spec/x", "value": 2}])


def test_resource_names_resolve_like_kubectl() -> None:
    deploy = find_resource("deploy")
    assert deploy is not None
    assert deploy.qualified == "deployments.apps"
    assert find_resource("leases.coordination.k8s.io") is find_resource("Lease")
    assert find_resource("widgets") is None
