"""The real ``kubectl`` (the one on PATH) reading the Kubernetes stand-in: ``get`` (the server's columns),
``describe``, ``logs`` and ``get --watch``, over TLS with the lab's CA and kubeconfig.

The stand-in runs in the test's event loop (no lab: milliseconds to start); one test reads the session's healthy
lab with the kubeconfig ``lab up`` wrote (its pods, and a container's log as the kubelet wrote it). The writes are
in ``test_kubectl_writes.py``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import ByteReceiveStream

from floe_lab.kube import KubeStore
from tests.support.kubectl import KUBECTL, NO_KUBECTL, Cluster, ago, kubectl_env, row
from tests.support.lab import LabHandle

pytestmark = pytest.mark.skipif(KUBECTL is None, reason=NO_KUBECTL)


def _pod(name: str, statuses: list[dict[str, Any]], phase: str = "Running") -> dict[str, Any]:
    containers = [{"name": s["name"], "image": "busybox"} for s in statuses]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "floe", "labels": {"app": name.partition("-")[0]}},
        "spec": {"nodeName": "lab-node", "containers": containers},
        "status": {"phase": phase, "podIP": "10.0.0.7", "containerStatuses": statuses},
    }


RESTARTED = {
    "name": "main",
    "ready": True,
    "restartCount": 2,
    "state": {"running": {"startedAt": ago(60)}},
    "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(61)}},
}
CRASHING = {"name": "app", "ready": False, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
DONE = {
    "name": "seed",
    "ready": False,
    "restartCount": 0,
    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
}


def _seed(store: KubeStore) -> None:
    store.load(
        [
            _pod("web-1", [RESTARTED]),
            _pod("crash-1", [CRASHING]),
            _pod("seed-1", [DONE], phase="Succeeded"),
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "floe"},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
                    },
                },
                "status": {
                    "replicas": 2,
                    "readyReplicas": 1,
                    "updatedReplicas": 2,
                    "availableReplicas": 1,
                    "unavailableReplicas": 1,
                },
            },
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "seed", "namespace": "floe"},
                "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "s", "image": "x"}]}}},
                "status": {
                    "succeeded": 1,
                    "startTime": ago(30),
                    "completionTime": ago(20),
                    "conditions": [{"type": "Complete", "status": "True"}],
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": "floe"},
                "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "nodePort": 30080}]},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "pw", "namespace": "floe"},
                "data": {"a": "YQ=="},
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cfg", "namespace": "floe"},
                "data": {"k": "v"},
            },
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": "lock", "namespace": "floe"},
            },
        ]
    )


async def test_get_prints_the_servers_columns_for_each_kind(kubectl_cluster: Cluster) -> None:
    _seed(kubectl_cluster.store)
    pods = await kubectl_cluster.ok("get", "pods")
    row(pods, "NAME", "READY", "STATUS", "RESTARTS", "AGE")
    row(pods, "web-1", "1/1", "Running", r"2 \(\S+ ago\)", r"\d+s")  # the age goes on while a loaded machine runs
    row(pods, "crash-1", "0/1", "CrashLoopBackOff", "4", r"\d+s")
    row(pods, "seed-1", "0/1", "Completed", "0", r"\d+s")
    wide = await kubectl_cluster.ok("get", "pod", "web-1", "-o", "wide")
    row(wide, "web-1", "1/1", "Running", r"2 \(\S+ ago\)", r"\d+s", r"10\.0\.0\.7", "lab-node", "<none>", "<none>")
    out = await kubectl_cluster.ok("get", "deployments,jobs,services,secrets,configmaps,leases")
    row(out, "deployment.apps/web", "1/2", "2", "1", r"\d+s")
    row(out, "NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE")
    row(out, "job.batch/seed", "Complete", "1/1", r"1\ds", r"\d+s")
    row(out, "service/web", "NodePort", r"[\d.]+", "<none>", "80:30080/TCP", r"\d+s")
    row(out, "secret/pw", "Opaque", "1", r"\d+s")
    row(out, "configmap/cfg", "1", r"\d+s")
    row(out, "lease.coordination.k8s.io/lock", r"\d+s")  # no printer: NAME and AGE
    everywhere = await kubectl_cluster.ok("get", "deploy", "-A")
    row(everywhere, "NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE")
    row(everywhere, "floe", "web", "1/2", "2", "1", r"\d+s")
    names = await kubectl_cluster.ok("get", "pods", "-l", "app=web", "-o", "name")
    assert names.split() == ["pod/web-1"]


async def test_describe_shows_the_object_and_its_events(kubectl_cluster: Cluster) -> None:
    _seed(kubectl_cluster.store)
    uid = kubectl_cluster.store.get("pods", "web-1", "floe")["metadata"]["uid"]
    involved = {"kind": "Pod", "namespace": "floe", "name": "web-1", "uid": uid, "apiVersion": "v1"}
    kubectl_cluster.store.create(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "web-1.1", "namespace": "floe"},
            "involvedObject": involved,
            "type": "Warning",
            "reason": "BackOff",
            "message": "Back-off restarting failed container main",
            "firstTimestamp": ago(50),
            "lastTimestamp": ago(5),
            "count": 3,
            "source": {"component": "kubelet"},
        }
    )
    out = await kubectl_cluster.ok("describe", "pod", "web-1")
    assert re.search(r"^Status:\s+Running$", out, re.MULTILINE), out
    assert re.search(r"^Node:\s+lab-node", out, re.MULTILINE), out
    assert re.search(r"Restart Count:\s+2", out), out
    assert re.search(r"Warning\s+BackOff\s+.*kubelet\s+Back-off restarting failed container main", out), out
    deployment = await kubectl_cluster.ok("describe", "deployment", "web")
    assert re.search(r"Replicas:\s+2 desired \| 2 updated \| 2 total \| 1 available \| 1 unavailable", deployment)
    events = await kubectl_cluster.ok("get", "events")
    row(events, r"\d+s", "Warning", "BackOff", "pod/web-1", "Back-off restarting failed container main")


async def test_logs_with_tail_previous_and_container(kubectl_cluster: Cluster) -> None:
    _seed(kubectl_cluster.store)
    kubectl_cluster.store.set_pod_log("floe", "web-1", "starting\nlistening on :80\n")
    kubectl_cluster.store.set_pod_log("floe", "web-1", "boom\n", previous=True)
    assert await kubectl_cluster.ok("logs", "web-1") == "starting\nlistening on :80\n"
    assert await kubectl_cluster.ok("logs", "web-1", "--tail=1") == "listening on :80\n"
    assert await kubectl_cluster.ok("logs", "web-1", "--previous") == "boom\n"
    assert await kubectl_cluster.ok("logs", "pod/web-1", "-c", "main", "--tail=-1") == "starting\nlistening on :80\n"
    code, _, err = await kubectl_cluster.run("logs", "crash-1", "--previous")
    assert code == 1
    assert 'previous terminated container "app" in pod "crash-1" not found' in err


async def _line_with(stream: ByteReceiveStream, seen: list[str], *cells: str) -> None:
    """Read lines into ``seen`` until one starts with ``cells``."""
    buffer = ""
    while not any(line.split()[: len(cells)] == list(cells) for line in seen):
        buffer += (await stream.receive()).decode()
        *complete, buffer = buffer.split("\n")
        seen.extend(complete)


async def test_get_watch_prints_each_change(kubectl_cluster: Cluster) -> None:
    _seed(kubectl_cluster.store)
    async with await anyio.open_process(
        kubectl_cluster.argv("get", "configmaps", "--watch"), env=kubectl_cluster.env
    ) as kubectl:
        assert kubectl.stdout is not None
        seen: list[str] = []
        try:
            with anyio.fail_after(60):  # a hang guard only: each step waits for a line, not for time
                await _line_with(kubectl.stdout, seen, "cfg")
                kubectl_cluster.store.create(
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}}, namespace="floe"
                )
                await _line_with(kubectl.stdout, seen, "new", "0")
                kubectl_cluster.store.patch("configmaps", "new", {"data": {"a": "1", "b": "2"}}, namespace="floe")
                await _line_with(kubectl.stdout, seen, "new", "2")
        finally:
            kubectl.terminate()
    row(seen[0], "NAME", "DATA", "AGE")
    assert [line.split()[:2] for line in seen[1:]] == [["cfg", "1"], ["new", "0"], ["new", "2"]]


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy"], indirect=True)  # the session\'s healthy lab, not one more
def test_a_running_lab_is_read_with_the_kubeconfig_lab_up_wrote(lab: LabHandle, tmp_path: Path) -> None:
    assert KUBECTL is not None
    env = kubectl_env(tmp_path, Path(lab.info["kubeconfig"]))

    def kubectl(*args: str) -> str:
        done = subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    pods = kubectl("get", "pods")
    row(pods, "NAME", "READY", "STATUS", "RESTARTS", "AGE")
    row(pods, r"floe-infra-seed-data-\w+", "0/1", "Completed", "0", r"\w+")
    assert kubectl("logs", "job/floe-infra-seed-data", "--tail=1").strip(), "the seed Job's container printed nothing"
    row(kubectl("get", "statefulset"), "floe-infra-postgresql", r"\d/1", r"\w+")
