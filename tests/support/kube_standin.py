"""The lab's Kubernetes API stand-in for the probe tests that need what the fake API (tests/support/kube.py) cannot
give: objects written through the real API (owners, ``/status``), container logs a kubelet would keep (current and
previous), the apiserver's own answers (a 404 Status, a 400 for a previous log that does not exist).

``async with kube_standin() as standin``: the stand-in on loopback with namespace ``floe``; write workloads with
:meth:`Standin.owner` and :meth:`Standin.pod`, then run the kubernetes probe on it with :func:`investigate`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from kubernetes_asyncio import client

from floe_agents.findings import Finding
from floe_agents.probes.kubernetes import kubernetes
from floe_lab.kube import KubeStore, client_configuration, serve
from tests.support.kube import NS, kube_ctx
from tests.support.probes import run_probe

__all__ = ["Standin", "investigate", "kube_standin"]


@dataclass
class Standin:
    """The stand-in on loopback, a client writing to it as a user would, and its store (the kubelet's side)."""

    store: KubeStore
    api: client.ApiClient
    url: str

    async def owner(self, kind: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
        """A Deployment (and its ReplicaSet), StatefulSet or Job owning the pod to come: its ownerReference."""
        apps: Any = client.AppsV1Api(self.api)
        batch: Any = client.BatchV1Api(self.api)
        template: dict[str, Any] = {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        }
        spec = {"selector": {"matchLabels": labels}, "template": template}
        meta = {"name": name, "labels": labels}
        if kind == "Deployment":
            dep = await apps.create_namespaced_deployment(NS, {"metadata": meta, "spec": spec})
            ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": dep.metadata.uid}
            rs_meta = {**meta, "name": f"{name}-5c7967b7d6", "ownerReferences": [ref]}
            rs = await apps.create_namespaced_replica_set(NS, {"metadata": rs_meta, "spec": spec})
            return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_meta["name"], "uid": rs.metadata.uid}
        if kind == "StatefulSet":
            sts = await apps.create_namespaced_stateful_set(NS, {"metadata": meta, "spec": spec})
            return {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": name, "uid": sts.metadata.uid}
        template["spec"]["restartPolicy"] = "Never"
        job = await batch.create_namespaced_job(NS, {"metadata": meta, "spec": {"template": template}})
        failed = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}
        await batch.patch_namespaced_job_status(name, NS, {"status": {"failed": 1, "conditions": [failed]}})
        return {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": job.metadata.uid}

    async def pod(
        self,
        name: str,
        labels: dict[str, str],
        container: dict[str, Any],
        status: dict[str, Any],
        *,
        owner: dict[str, Any] | None = None,
        log: str | None = None,
        previous: bool = True,
        pod_spec: dict[str, Any] | None = None,
    ) -> None:
        """A pod created through the API, its status written to ``/status``, its container's log set."""
        if owner is not None and owner["kind"] == "ReplicaSet":
            labels = {**labels, "pod-template-hash": owner["name"].rsplit("-", 1)[1]}
        meta = {"name": name, "labels": labels, "ownerReferences": [owner] if owner else []}
        spec = {"containers": [{"image": "ghcr.io/acme/floe:1.0", **container}], **(pod_spec or {})}
        core: Any = client.CoreV1Api(self.api)
        await core.create_namespaced_pod(NS, {"metadata": meta, "spec": spec})
        image = spec["containers"][0]["image"]  # what a kubelet always writes, the client insists on
        statuses = [{"image": image, "imageID": "", "ready": False, "restartCount": 0, **cs}
                    for cs in status.get("containerStatuses", [])]  # fmt: skip
        await core.patch_namespaced_pod_status(name, NS, {"status": {**status, "containerStatuses": statuses}})
        if log is not None:
            self.store.set_pod_log(NS, name, log, previous=previous)


async def investigate(standin: Standin) -> list[Finding]:
    """The kubernetes probe's findings on the stand-in's cluster."""
    async with kube_ctx(standin.url) as ctx:
        return await run_probe(kubernetes, ctx)


@asynccontextmanager
async def kube_standin() -> AsyncIterator[Standin]:
    """The stand-in serving an empty cluster with namespace ``floe``, and a client for it."""
    store = KubeStore()
    async with serve(store) as url, client.ApiClient(client_configuration(url)) as api:
        core: Any = client.CoreV1Api(api)
        await core.create_namespace({"metadata": {"name": NS}})
        yield Standin(store, api, url)
