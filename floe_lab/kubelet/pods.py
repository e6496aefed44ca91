"""The node's half of a sync: one worker per pod bound here, retired when its pod goes, statuses written back.

Why apart from the controllers: the controllers reconcile objects against objects; this side owns the processes.
A pod that vanished from the API (or is being deleted gracefully) has its worker stopped — its process may take
a few seconds to exit, and until it has, it still *lingers*: it may still hold its workload's ports, so a Service
would still reach it. A cluster's kube-proxy would already route around it; the lab cannot (the process owns
the socket), so the Deployment controller counts lingering pods as still running (:meth:`Pods.lingering`) and a
rollout is done only once the old process is gone and its ports have passed to the new pod.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Mapping
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup

from floe_lab.kubelet.api import JsonObj, KubeApi, KubeError
from floe_lab.kubelet.context import LOG_FILE_ANNOTATION, NODE_NAME, PREVIOUS_LOG_ANNOTATION
from floe_lab.kubelet.logfiles import forget_pod
from floe_lab.kubelet.node import NodeServices
from floe_lab.kubelet.recorder import now
from floe_lab.kubelet.runtime import PodWorker
from floe_lab.kubelet.snapshot import Snapshot, controller_uid, is_terminal, is_terminating, key, on_node, workload_of
from floe_lab.kubelet.status import pod_status

__all__ = ["Pods", "guard"]

_log = structlog.get_logger("floe_lab.kubelet")
Objects = Mapping[tuple[str, str], JsonObj]


async def guard(what: str, obj: JsonObj, step: Awaitable[None]) -> None:
    """Run one reconcile step; its failure is logged (a stale snapshot's 404/409 quietly), never raised."""
    try:
        await step
    except KubeError as exc:
        level = _log.debug if exc.status in (404, 409) else _log.warning  # stale snapshot: next sync
        level("reconcile failed", step=what, object="/".join(key(obj)), error=str(exc))
    except Exception:
        _log.exception("reconcile failed", step=what, object="/".join(key(obj)))


class Pods:
    """The pod workers of one kubelet run (all its mutable pod state lives here)."""

    def __init__(self, api: KubeApi, node: NodeServices, workers: TaskGroup) -> None:
        self._api, self._node, self._tg = api, node, workers
        self._workers: dict[str, PodWorker] = {}
        self._finishing: set[str] = set()
        self._lingering: dict[str, str | None] = {}  # pod uid -> its controller's uid, while its process stops

    def lingering(self) -> dict[str, int]:
        """Controller uid -> how many of its pods' processes are still being stopped."""
        counts: dict[str, int] = {}
        for owner in self._lingering.values():
            if owner is not None:
                counts[owner] = counts.get(owner, 0) + 1
        return counts

    def _linger(self, worker: PodWorker) -> None:
        self._lingering[worker.uid] = controller_uid(worker.pod)
        self._node.leases.stopping(worker.uid)  # now: a replacement must wait for its ports, not surge

    def _gone(self, worker: PodWorker) -> None:
        self._lingering.pop(worker.uid, None)
        self._node.wake()  # a rollout waiting for this process can go on

    def let_go(self, snap: Snapshot) -> None:
        """Before the controllers look: stop the workers of pods that are gone from the API or being deleted."""
        pods = {str(p["metadata"]["uid"]): p for p in snap.of("pods") if on_node(p)}
        for uid in [u for u in self._workers if u not in pods]:
            worker = self._workers.pop(uid)
            self._linger(worker)
            self._tg.start_soon(self._retire, worker)
        for uid, pod in pods.items():
            if is_terminating(pod) and uid not in self._finishing:
                self._finishing.add(uid)
                finishing = self._workers.get(uid)
                if finishing is not None:
                    self._linger(finishing)
                self._tg.start_soon(self._finish_deletion, finishing, pod)

    async def _retire(self, worker: PodWorker) -> None:
        """The pod is gone from the API: stop its process, then drop its scratch folder."""
        worker.stop(deleting=True)
        await worker.done.wait()
        self._gone(worker)
        self._node.recorder.forget(worker.uid)
        if self._node.accounts is not None:
            self._node.accounts.forget(worker.uid)
        self._node.leases.forget(worker.uid)
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(worker.pod_dir, ignore_errors=True))
        pod = (worker.namespace, worker.name, worker.uid)
        await anyio.to_thread.run_sync(forget_pod, self._node.state_dir, pod)

    async def _finish_deletion(self, worker: PodWorker | None, pod: JsonObj) -> None:
        """Graceful deletion: stop the containers, then remove the pod for good (``gracePeriodSeconds=0``)."""
        uid = str(pod["metadata"]["uid"])
        try:
            if worker is not None:
                worker.stop(deleting=True)
                await worker.done.wait()
                self._gone(worker)
            await self._api.delete("pods", *key(pod), grace=0)
        finally:
            self._finishing.discard(uid)

    async def sync(self, snap: Snapshot) -> None:
        """Start a worker for every new pod bound here and write every pod's status."""
        objects = (snap.by_key("secrets"), snap.by_key("configmaps"))
        for pod in snap.of("pods"):
            if on_node(pod) and not is_terminating(pod):
                await guard("pod", pod, self._sync_pod(snap, pod, objects))

    async def _sync_pod(self, snap: Snapshot, pod: JsonObj, objects: tuple[Objects, Objects]) -> None:
        api, node = self._api, self._node
        namespace, name = key(pod)
        uid = str(pod["metadata"]["uid"])
        worker = self._workers.get(uid)
        if not (pod.get("spec") or {}).get("nodeName"):
            await api.patch("pods", namespace, name, {"spec": {"nodeName": NODE_NAME}})
            return
        if worker is None:
            if is_terminal(pod) or not (pod.get("spec") or {}).get("containers"):
                return
            worker = PodWorker(pod, node, workload_of(pod, snap))
            self._workers[uid] = worker
            scheduled = f"Successfully assigned {namespace}/{name} to {NODE_NAME}"
            await node.recorder.emit(pod, "Normal", "Scheduled", scheduled, component="default-scheduler")
            self._tg.start_soon(worker.run)
        worker.update(pod, *objects)
        status = pod_status(pod, worker.facts, start_time=worker.start_time, stamp=now())
        if status != (pod.get("status") or {}):
            await api.replace_status("pods", namespace, name, status)
        await self._annotate(pod, worker)

    async def _annotate(self, pod: JsonObj, worker: PodWorker) -> None:
        have: dict[str, Any] = pod["metadata"].get("annotations") or {}
        want = {LOG_FILE_ANNOTATION: worker.view.log_file, PREVIOUS_LOG_ANNOTATION: worker.view.previous_log_file}
        patch = {k: v for k, v in want.items() if have.get(k) != v}
        if patch:
            await self._api.patch("pods", *key(pod), {"metadata": {"annotations": patch}})
