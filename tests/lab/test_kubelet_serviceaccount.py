"""Service-account credentials in lab pods: each pod process finds *its own* token, the cluster CA and its namespace
at the fixed path ``/var/run/secrets/kubernetes.io/serviceaccount``, ``KUBERNETES_SERVICE_HOST``/``PORT`` lead to
the API's HTTPS port, ``kubernetes.default.svc`` resolves there, ``automountServiceAccountToken: false`` (pod or
account) means no files, and a token the API refuses is the kubelet's ``FailedMount``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from floe_lab.kubelet.serviceaccount import automounts
from tests.support.incluster import incluster_lab, job_output, json_lines, python_job
from tests.support.kubelet import NS, eventually, read_text, waiting_reason

READER = """
import json, os, socket
base = "/var/run/secrets/kubernetes.io/serviceaccount"
env = {k: v for k, v in os.environ.items() if k.startswith("KUBERNETES_")}
print(json.dumps({"env": env, "mounted": os.path.isfile(base + "/token")}))
if os.path.isfile(base + "/token"):
    files = {name: open(f"{base}/{name}").read() for name in sorted(os.listdir(base))}
    print(json.dumps({"files": files}))
print(json.dumps({"api": socket.getaddrinfo("kubernetes.default.svc", 443, type=socket.SOCK_STREAM)[0][4]}))
"""


def test_the_pods_value_wins_over_the_accounts() -> None:
    pod: dict[str, Any] = {"spec": {}}
    assert automounts(pod, None)
    assert not automounts(pod, {"automountServiceAccountToken": False})
    assert automounts({"spec": {"automountServiceAccountToken": True}}, {"automountServiceAccountToken": False})
    assert not automounts({"spec": {"automountServiceAccountToken": False}}, {})


async def test_each_pod_reads_its_own_credentials_at_the_fixed_path(tmp_path: Path) -> None:
    async with incluster_lab(tmp_path, needs_tokens=True) as cluster:
        lab = cluster.lab
        await lab.core.create_namespace({"metadata": {"name": "other"}})
        quiet = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "quiet", "namespace": NS}}
        await lab.request(
            "POST", f"/api/v1/namespaces/{NS}/serviceaccounts", {**quiet, "automountServiceAccountToken": False}
        )
        jobs = {
            ("floe", "reader"): python_job("reader", READER),
            ("other", "reader"): python_job("reader", READER, namespace="other"),
            ("floe", "no-token"): python_job("no-token", READER, automountServiceAccountToken=False),
            ("floe", "quiet"): python_job("quiet", READER, serviceAccountName="quiet"),
            ("floe", "quiet-but-asks"): python_job(
                "quiet-but-asks", READER, serviceAccountName="quiet", automountServiceAccountToken=True
            ),
        }
        for (namespace, _), job in jobs.items():
            await lab.request("POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", job)
        seen = {key: json_lines(await job_output(lab, key[1], namespace=key[0])) for key in jobs}

    cluster_ip = json.loads(read_text(lab.state / "services.json")).get("cluster_ips", {}).get("kubernetes")
    api = ("127.0.0.1", cluster.https_port) if cluster_ip is None else (cluster_ip, 443)  # relayed to the API
    want_env = {
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(cluster.https_port),
        "KUBERNETES_SERVICE_PORT_HTTPS": str(cluster.https_port),
        "KUBERNETES_PORT": f"tcp://127.0.0.1:{cluster.https_port}",
    }
    for key, out in seen.items():
        assert out["env"] == want_env, key  # every pod, credentials or not, as service links are
        assert tuple(out["api"]) == api, key  # kubernetes.default.svc:443 leads to the API's HTTPS port
    mine, theirs = seen["floe", "reader"]["files"], seen["other", "reader"]["files"]
    ca = cluster.ca.read_text()
    assert sorted(mine) == ["ca.crt", "namespace", "token"]
    assert (mine["namespace"], theirs["namespace"]) == ("floe", "other")
    assert mine["ca.crt"] == theirs["ca.crt"] == ca
    assert mine["token"] and theirs["token"] and mine["token"] != theirs["token"]
    assert not seen["floe", "no-token"]["mounted"]
    assert not seen["floe", "quiet"]["mounted"]
    assert seen["floe", "quiet-but-asks"]["mounted"]


async def test_a_token_the_api_refuses_is_a_failed_mount_until_the_account_exists(tmp_path: Path) -> None:
    async with incluster_lab(tmp_path, needs_tokens=True) as cluster:
        lab = cluster.lab
        await lab.apply(python_job("ghostly", READER, serviceAccountName="ghost"))

        async def failed_mount() -> list[str]:
            return [e["message"] for e in await lab.events("ghostly") if e["reason"] == "FailedMount"]

        messages = await eventually(failed_mount, within=15, what="a FailedMount event")
        assert "failed to fetch token" in messages[0]
        assert 'serviceaccounts "ghost" not found' in messages[0]
        assert messages[0].startswith('MountVolume.SetUp failed for volume "kube-api-access-')
        pods = await lab.pods("ghostly-")
        assert waiting_reason(pods[0]) == "ContainerCreating"
        account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ghost", "namespace": NS}}
        await lab.request("POST", f"/api/v1/namespaces/{NS}/serviceaccounts", account)
        out = json_lines(await job_output(lab, "ghostly"))
        assert out["files"]["namespace"] == NS
