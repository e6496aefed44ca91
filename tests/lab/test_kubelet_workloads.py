"""Deployments and StatefulSets realised as real processes, and the API following what really happened."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client

from floe_lab import procs
from floe_lab.kube import KubeStore
from floe_lab.kubelet import LOG_FILE_ANNOTATION, REAL_PORTS_ANNOTATION
from tests.support.kubelet import (
    NS,
    answer,
    container,
    container_status,
    eventually,
    is_ready,
    process_exists,
    read_text,
    running_lab,
    service,
    workload,
)


async def test_deployment_runs_a_real_process_behind_a_ready_pod(tmp_path: Path) -> None:
    ports = {"web": {"http": procs.free_port()}}
    async with running_lab(tmp_path, ports=ports) as lab:
        await lab.apply(
            workload("Deployment", "web", "serve", container("web", ports={"http": 8080})), service("web", 80, "http")
        )

        async def ready_pod() -> dict[str, object] | None:
            pods = await lab.pods("web-")
            return pods[0] if pods and is_ready(pods[0]) else None

        pod = await eventually(ready_pod, what="web pod Ready")
        meta = pod["metadata"]
        assert re.fullmatch(r"web-[a-z0-9]{6,10}-[a-z0-9]{5}", meta["name"]), meta["name"]
        assert meta["labels"]["app.kubernetes.io/name"] == "web"
        owner = meta["ownerReferences"][0]
        assert owner["kind"] == "ReplicaSet" and owner["controller"] is True
        assert owner["name"] == f"web-{meta['labels']['pod-template-hash']}"
        assert pod["spec"]["nodeName"] == "lab-node"
        assert pod["status"]["phase"] == "Running" and pod["status"]["podIP"] == "127.0.0.1"
        state = container_status(pod)
        assert "running" in state["state"] and state["ready"] and state["restartCount"] == 0
        # the kernel agrees: the port answers with the pid of a live process
        pid = await answer(ports["web"]["http"])
        assert pid and process_exists(pid)
        log = read_text(meta["annotations"][LOG_FILE_ANNOTATION])
        assert "has-token False" in log  # the node's environment does not leak into pods
        assert "FLOE_LAB_SERVICES" in log

        reasons = {e["reason"] for e in await lab.events(meta["name"])}
        assert {"Scheduled", "Pulled", "Created", "Started"} <= reasons

        async def available() -> bool:
            deploy = await lab.get(f"/apis/apps/v1/namespaces/{NS}/deployments/web")
            status = deploy.get("status", {})
            conds = {c["type"]: c for c in status.get("conditions", [])}
            return bool(
                status.get("readyReplicas") == 1
                and status.get("availableReplicas") == 1
                and conds.get("Available", {}).get("status") == "True"
                and conds.get("Progressing", {}).get("reason") == "NewReplicaSetAvailable"
            )

        await eventually(available, what="Deployment Available")
        typed = await client.AppsV1Api(lab.api_client).read_namespaced_deployment_status("web", NS)
        assert typed.status.available_replicas == 1  # the typed client reads what the controller wrote
        rs = await client.AppsV1Api(lab.api_client).list_namespaced_replica_set(NS)
        assert [r.metadata.owner_references[0].name for r in rs.items] == ["web"]

        async def endpoints() -> dict[str, object] | None:
            ep = await lab.get(f"/api/v1/namespaces/{NS}/endpoints/web")
            return ep if ep.get("subsets") and ep["subsets"][0].get("addresses") else None

        ep = await eventually(endpoints, what="ready address in Endpoints")
        subset = ep["subsets"][0]
        assert subset["addresses"][0]["ip"] == "127.0.0.1"
        assert subset["addresses"][0]["targetRef"]["name"] == meta["name"]
        assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
        assert json.loads(ep["metadata"]["annotations"][REAL_PORTS_ANNOTATION]) == {"http": ports["web"]["http"]}
        table = json.loads(read_text(lab.state / "services.json"))
        cluster_ips = table.pop("cluster_ips", {})  # where pods connect on the Service port (test_kubelet_cluster_ips)
        assert table == {"services": {"web": {"80": f"127.0.0.1:{ports['web']['http']}"}}, "namespaces": [NS]}
        assert set(cluster_ips) <= {"web"}

        # a pod reaches the Service by name and Service port, through the pod network and services.json
        await lab.apply(workload("Job", "probe", "job:probe-web", container("probe")))

        async def probe_done() -> dict[str, Any] | None:
            pods = await lab.pods("probe-")
            return pods[0] if pods and pods[0]["status"].get("phase") in ("Succeeded", "Failed") else None

        probe = await eventually(probe_done, what="probe Job pod finished")
        probe_log = read_text(probe["metadata"]["annotations"][LOG_FILE_ANNOTATION])
        assert probe["status"]["phase"] == "Succeeded", probe_log
        assert f"got b'{pid}'" in probe_log


async def test_deleting_the_pod_restarts_the_process_and_deleting_the_workload_stops_it(tmp_path: Path) -> None:
    async with running_lab(tmp_path) as lab:
        await lab.apply(workload("StatefulSet", "db", "serve", container("db", ports={"http": 5432})))

        async def ready() -> dict[str, object] | None:
            pods = await lab.pods("db-")
            return pods[0] if pods and is_ready(pods[0]) else None

        pod = await eventually(ready, what="db-0 Ready")
        assert pod["metadata"]["name"] == "db-0"
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
        real = json.loads((lab.state / "ports.json").read_text())["db"]["http"]  # allocated and recorded
        first_pid = await answer(real)
        assert first_pid

        await lab.core.delete_namespaced_pod("db-0", NS)

        async def replaced() -> dict[str, object] | None:
            pods = await lab.pods("db-")
            fresh = [p for p in pods if p["metadata"]["uid"] != pod["metadata"]["uid"] and is_ready(p)]
            return fresh[0] if fresh else None

        await eventually(replaced, what="a new db-0")
        second_pid = await answer(real)
        assert second_pid and second_pid != first_pid  # same port, new process
        assert not process_exists(first_pid)

        await lab.delete(f"/apis/apps/v1/namespaces/{NS}/statefulsets/db")

        async def gone() -> bool:
            return not await lab.pods("db-") and await answer(real) is None

        await eventually(gone, what="pod and process gone")


async def test_changing_the_template_rolls_the_pod_to_a_new_replicaset(tmp_path: Path) -> None:
    port = procs.free_port()
    env = [{"name": "APP_MODE", "value": "one"}]
    async with running_lab(tmp_path, ports={"roll": {"http": port}}) as lab:
        await lab.apply(workload("Deployment", "roll", "serve", container("roll", ports={"http": 80}, env=env)))

        async def ready_with(mode: str) -> dict[str, Any] | None:
            for pod in await lab.pods("roll-"):
                log_file = (pod["metadata"].get("annotations") or {}).get(LOG_FILE_ANNOTATION)
                if is_ready(pod) and log_file and f"'APP_MODE': '{mode}'" in read_text(log_file):
                    return pod
            return None

        first = await eventually(lambda: ready_with("one"), what="first rollout")
        patch = {
            "spec": {
                "template": {"spec": {"containers": [{"name": "roll", "env": [{"name": "APP_MODE", "value": "two"}]}]}}
            }
        }
        await client.AppsV1Api(lab.api_client).patch_namespaced_deployment("roll", NS, patch)  # as a remediation would

        second = await eventually(lambda: ready_with("two"), what="second rollout")
        assert second["metadata"]["labels"]["pod-template-hash"] != first["metadata"]["labels"]["pod-template-hash"]

        async def settled() -> bool:
            names = [p["metadata"]["name"] for p in await lab.pods("roll-")]
            return names == [second["metadata"]["name"]]

        await eventually(settled, what="old pod gone")
        # The workload's port reaches the new pod once the old process is gone (a relay, as kube-proxy's update):
        # on a loaded machine that follows the old pod's deletion by a moment.
        await eventually(lambda: answer(port), what="the workload's port served by the new pod")
        scaling = [e["message"] for e in await lab.events("roll") if e["reason"] == "ScalingReplicaSet"]
        old_rs = first["metadata"]["ownerReferences"][0]["name"]
        assert f"Scaled down replica set {old_rs} from 1 to 0" in scaling


async def test_graceful_deletion_stops_the_process_before_the_pod_goes(tmp_path: Path) -> None:
    store = KubeStore(graceful_pod_deletion=True)
    async with running_lab(tmp_path, store=store) as lab:
        await lab.apply(workload("StatefulSet", "kv", "serve", container("kv", ports={"http": 6379})))

        async def ready() -> dict[str, Any] | None:
            pods = await lab.pods("kv-")
            return pods[0] if pods and is_ready(pods[0]) else None

        pod = await eventually(ready, what="kv-0 Ready")
        real = json.loads(read_text(lab.state / "ports.json"))["kv"]["http"]
        first_pid = await answer(real)
        await lab.delete(f"/api/v1/namespaces/{NS}/pods/kv-0")  # only marks it: the kubelet must finish

        async def replaced() -> bool:
            pods = await lab.pods("kv-")
            return bool(pods) and pods[0]["metadata"]["uid"] != pod["metadata"]["uid"] and is_ready(pods[0])

        await eventually(replaced, what="kv-0 replaced after graceful deletion")
        assert not process_exists(str(first_pid))
        killing = [e for e in await lab.events("kv-0") if e["reason"] == "Killing"]
        assert killing and killing[0]["message"] == "Stopping container kv"
