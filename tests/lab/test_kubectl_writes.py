"""The real ``kubectl`` (the one on PATH) writing to the Kubernetes stand-in: ``create`` (``-f``, and the typed
``create secret|configmap|namespace|serviceaccount`` that send protobuf), ``apply`` (``-f`` and ``-k``, validated
by the server: no ``--validate=false``), ``patch`` (strategic, merge, JSON), ``scale`` and ``delete``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from floe_lab.kube import KubeStore
from tests.support.kubectl import KUBECTL, NO_KUBECTL, Cluster

pytestmark = pytest.mark.skipif(KUBECTL is None, reason=NO_KUBECTL)


MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels: {app: api}
spec:
  replicas: 1
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: api:1
        env:
        - {name: MODE, value: one}
        - {name: KEEP, value: kept}
      - name: sidecar
        image: sidecar:1
"""


def _deployment(store: KubeStore, name: str) -> dict[str, Any]:
    return store.get("deployments", name, "floe")


async def test_create_apply_and_kustomize_validated_by_the_server(kubectl_cluster: Cluster) -> None:
    folder = kubectl_cluster.folder
    (folder / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\ndata:\n  a: '1'\n")
    assert await kubectl_cluster.ok("create", "-f", str(folder / "cm.yaml")) == "configmap/made created\n"
    code, _, err = await kubectl_cluster.run("create", "-f", str(folder / "cm.yaml"))
    assert (code, err.strip()) == (1, 'Error from server (AlreadyExists): error when creating "'
                                   f'{folder / "cm.yaml"}": configmaps "made" already exists')  # fmt: skip
    (folder / "api.yaml").write_text(MANIFESTS)
    assert await kubectl_cluster.ok("apply", "-f", str(folder / "api.yaml")) == "deployment.apps/api created\n"
    (folder / "api.yaml").write_text(MANIFESTS.replace("value: one", "value: two").replace("api:1", "api:2"))
    assert await kubectl_cluster.ok("apply", "-f", str(folder / "api.yaml")) == "deployment.apps/api configured\n"
    containers = _deployment(kubectl_cluster.store, "api")["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("api", "api:2"), ("sidecar", "sidecar:1")]
    assert containers[0]["env"] == [{"name": "MODE", "value": "two"}, {"name": "KEEP", "value": "kept"}]
    assert await kubectl_cluster.ok("apply", "-f", str(folder / "api.yaml")) == "deployment.apps/api unchanged\n"
    kustomize = folder / "overlay"
    kustomize.mkdir()
    (kustomize / "api.yaml").write_text(MANIFESTS)
    (kustomize / "kustomization.yaml").write_text(
        "namespace: floe\nnamePrefix: k-\nlabels:\n- pairs: {team: floe}\nresources:\n- api.yaml\n"
        "configMapGenerator:\n- name: settings\n  literals:\n  - MODE=lab\n"
    )
    out = await kubectl_cluster.ok("apply", "-k", str(kustomize))
    assert re.fullmatch(r"configmap/k-settings-\w+ created\ndeployment.apps/k-api created\n", out), out
    assert _deployment(kubectl_cluster.store, "k-api")["metadata"]["labels"] == {"app": "api", "team": "floe"}
    bad = MANIFESTS.replace("name: api\n  labels", "name: API\n  labels")
    code, _, err = await kubectl_cluster.run("apply", "-f", "-", stdin=bad)
    assert code == 1
    assert 'The Deployment "API" is invalid: metadata.name: Invalid value: "API"' in err


async def test_typed_creates_send_protobuf_and_are_read(kubectl_cluster: Cluster) -> None:
    """``kubectl create secret|configmap|namespace|serviceaccount`` send protobuf; the answers are JSON."""
    await kubectl_cluster.ok("create", "secret", "generic", "pw", "--from-literal=password=s3cret")
    await kubectl_cluster.ok("create", "configmap", "settings", "--from-literal=MODE=lab")
    await kubectl_cluster.ok("create", "namespace", "other")
    await kubectl_cluster.ok("create", "serviceaccount", "runner")
    secret = kubectl_cluster.store.get("secrets", "pw", "floe")
    assert (secret["type"], secret["data"]) == ("Opaque", {"password": "czNjcmV0"})
    assert kubectl_cluster.store.get("configmaps", "settings", "floe")["data"] == {"MODE": "lab"}
    assert kubectl_cluster.store.get("namespaces", "other")["status"]["phase"] == "Active"
    assert kubectl_cluster.store.find("serviceaccounts", "runner", "floe") is not None
    code, _, err = await kubectl_cluster.run("create", "deployment", "web", "--image=nginx")
    assert code == 1
    assert "reads Deployment as JSON only" in err


async def test_patch_scale_delete_and_the_request_counter(kubectl_cluster: Cluster) -> None:
    (kubectl_cluster.folder / "api.yaml").write_text(MANIFESTS)
    await kubectl_cluster.ok("apply", "-f", str(kubectl_cluster.folder / "api.yaml"))
    strategic = {"spec": {"template": {"spec": {"containers": [{"name": "api", "image": "api:3"}]}}}}
    assert (
        await kubectl_cluster.ok("patch", "deployment", "api", "-p", json.dumps(strategic))
        == "deployment.apps/api patched\n"
    )
    await kubectl_cluster.ok(
        "patch", "deployment", "api", "--type=merge", "-p", '{"metadata":{"labels":{"tier":"web"}}}'
    )
    json_patch = '[{"op":"replace","path":"/spec/template/spec/containers/1/image","value":"sidecar:2"}]'
    await kubectl_cluster.ok("patch", "deployment", "api", "--type=json", "-p", json_patch)
    deployment = _deployment(kubectl_cluster.store, "api")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("api", "api:3"), ("sidecar", "sidecar:2")]
    assert deployment["metadata"]["labels"] == {"app": "api", "tier": "web"}
    assert await kubectl_cluster.ok("scale", "deployment/api", "--replicas=3") == "deployment.apps/api scaled\n"
    assert _deployment(kubectl_cluster.store, "api")["spec"]["replicas"] == 3
    assert await kubectl_cluster.ok("delete", "deployment", "api") == 'deployment.apps "api" deleted\n'
    assert kubectl_cluster.store.find("deployments", "api", "floe") is None
    code, _, err = await kubectl_cluster.run("delete", "configmap", "nothing")
    assert (code, err.strip()) == (1, 'Error from server (NotFound): configmaps "nothing" not found')
    counts = json.loads(await kubectl_cluster.ok("get", "--raw", "/lab/v1/requests"))  # counted over TLS as over HTTP
    by_kubectl = {agent: n for agent, n in counts["by_user_agent"].items() if agent.startswith("kubectl")}
    assert sum(by_kubectl.values()) == 7, counts  # apply (a create), 3 patches, scale, 2 deletes (one refused: 404)
