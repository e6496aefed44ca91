"""The lab kubelet: one loop that plays the node's kubelet and the workload controllers.

Why one loop over a fresh snapshot: at lab scale (tens of objects) listing everything each sync is cheap, and
reconciling *towards the API's current state* is what makes the lab converge whatever happened in between
(a remediation created a Secret, someone deleted a pod, the kubelet itself restarted). Watches only make the
next sync come sooner; a short resync catches everything else. All API traffic goes through the real
``kubernetes_asyncio`` client, as a kubelet's would. One bad object is logged and skipped, never fatal.

Pods run in :class:`~floe_lab.kubelet.runtime.PodWorker` tasks; leaving :meth:`Kubelet.run` (cancel,
SIGTERM) stops every process the kubelet started. Adopted processes are someone else's and are left alone.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus
from kubernetes_asyncio import client

from floe_lab.kube.client import client_configuration
from floe_lab.kubelet.api import JsonObj, KubeApi, KubeError
from floe_lab.kubelet.backoff import BACKOFF_BASE, BACKOFF_MAX
from floe_lab.kubelet.context import (
    EXEC_LAUNCHER,
    LOG_FILE_ANNOTATION,
    NODE_NAME,
    PREVIOUS_LOG_ANNOTATION,
    Launcher,
)
from floe_lab.kubelet.endpoints import services_table, sync_endpoints, write_services
from floe_lab.kubelet.execimage import exec_image
from floe_lab.kubelet.jobs import JobController
from floe_lab.kubelet.logfiles import forget_pod
from floe_lab.kubelet.node import NodeServices, Timing
from floe_lab.kubelet.ports import PortBook
from floe_lab.kubelet.recorder import EventRecorder, now
from floe_lab.kubelet.replicas import sync_deployment, sync_replicaset
from floe_lab.kubelet.runtime import PodWorker
from floe_lab.kubelet.snapshot import Snapshot, is_terminal, is_terminating, key, on_node, workload_of
from floe_lab.kubelet.statefulsets import sync_statefulset
from floe_lab.kubelet.status import pod_status

__all__ = ["Kubelet"]

_log = structlog.get_logger("floe_lab.kubelet")
_WATCHED = ("pods", "deployments", "replicasets", "statefulsets", "jobs", "services", "secrets", "configmaps")


class Kubelet:
    """Realise every Deployment, StatefulSet and Job in the API as the local process its launcher names.

    Args:
        api_url: the API server, e.g. ``http://127.0.0.1:PORT``.
        token: its bearer token (None: no auth).
        state_dir: the lab's state folder (``ports.json``, ``services.json``, process records and logs).
        launchers: ``lab.floe.dev/launch`` annotation value -> launcher.
        resync: the longest time between two syncs, seconds.
        backoff_base, backoff_max: the restart and image-pull back-off, seconds: the kubelet's 10 s doubling to
            300 s (forgotten after twice the ceiling without a restart) unless lowered, e.g. by tests.
        stop_grace: the longest a stopping process gets before SIGKILL.

    The launcher table is the node's "images"; ``exec`` (:mod:`~floe_lab.kubelet.execimage`, a container that runs
    its own command) is always there unless the table names its own.

    Use ``async with Kubelet(...)`` (returns after the first successful sync) or ``await kubelet.run()``.
    """

    def __init__(
        self,
        api_url: str,
        token: str | None,
        state_dir: Path,
        launchers: Mapping[str, Launcher],
        *,
        resync: float = 2.0,
        backoff_base: float = BACKOFF_BASE,
        backoff_max: float = BACKOFF_MAX,
        stop_grace: float = 3.0,
    ) -> None:
        self._url, self._token = api_url, token
        self._state_dir = Path(state_dir).resolve()
        self._launchers: dict[str, Launcher] = {EXEC_LAUNCHER: exec_image, **launchers}
        self._timing: Timing = {
            "resync": resync,
            "backoff_base": backoff_base,
            "backoff_max": backoff_max,
            "stop_grace": stop_grace,
        }
        self._wake = anyio.Event()
        self._workers: dict[str, PodWorker] = {}
        self._finishing: set[str] = set()
        self._stack: contextlib.AsyncExitStack | None = None
        self._tg: TaskGroup | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------

    async def __aenter__(self) -> Kubelet:
        stack = contextlib.AsyncExitStack()
        tg = await stack.enter_async_context(anyio.create_task_group())
        try:
            await tg.start(self._run_started)
        except BaseException:
            tg.cancel_scope.cancel()
            await stack.aclose()
            raise
        self._stack, self._tg = stack, tg
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._stack is not None
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        await self._stack.__aexit__(exc_type, exc, tb)

    async def _run_started(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        await self.run(on_ready=task_status.started)

    def wake(self) -> None:
        """Ask for a sync as soon as possible."""
        self._wake.set()

    async def run(self, *, on_ready: Callable[[], None] | None = None) -> None:
        """Sync until cancelled; ``on_ready`` is called once, after the first successful sync."""
        self._state_dir.mkdir(parents=True, exist_ok=True)
        async with client.ApiClient(client_configuration(self._url, self._token)) as api_client:
            api = KubeApi(api_client)
            recorder = EventRecorder(api)
            node = NodeServices(
                self._state_dir, self._launchers, recorder, PortBook(self._state_dir), self.wake, **self._timing
            )
            jobs = JobController(api, recorder, backoff_base=node.backoff_base, backoff_max=node.backoff_max)
            async with anyio.create_task_group() as watchers:
                for plural in _WATCHED:
                    watchers.start_soon(self._watch, api, plural)
                async with anyio.create_task_group() as workers:
                    await self._loop(api, node, jobs, workers, on_ready)

    async def _loop(
        self,
        api: KubeApi,
        node: NodeServices,
        jobs: JobController,
        workers: TaskGroup,
        on_ready: Callable[[], None] | None,
    ) -> None:
        failing = False
        while True:
            self._wake = anyio.Event()
            try:
                await self._sync(api, node, jobs, workers)
            except Exception as exc:  # e.g. the API server is not up (yet, or any more): try again next resync
                (_log.debug if failing else _log.warning)("sync failed", error=str(exc))
                failing = True
            else:
                if failing:
                    _log.info("sync recovered")
                failing = False
                if on_ready is not None:
                    on_ready()
                    on_ready = None
            retry_in = jobs.retry_in()
            with anyio.move_on_after(node.resync if retry_in is None else min(node.resync, retry_in)):
                await self._wake.wait()
            await anyio.sleep(0.02)  # let a burst of changes land in one sync

    async def _watch(self, api: KubeApi, plural: str) -> None:
        """Turn every watch event of ``plural`` into a wake-up; reconnect forever."""
        while True:
            try:
                async with api.watch(plural, None) as lines:
                    async for _ in lines:
                        self.wake()
            except Exception as exc:  # a broken watch only delays the next sync to the resync
                _log.debug("watch ended", resource=plural, error=str(exc))
            await anyio.sleep(1.0)

    # -- one sync ---------------------------------------------------------------------------------------------

    async def _guard(self, what: str, obj: JsonObj, step: Awaitable[None]) -> None:
        try:
            await step
        except KubeError as exc:
            level = _log.debug if exc.status in (404, 409) else _log.warning  # stale snapshot: next sync
            level("reconcile failed", step=what, object="/".join(key(obj)), error=str(exc))
        except Exception:
            _log.exception("reconcile failed", step=what, object="/".join(key(obj)))

    async def _sync(self, api: KubeApi, node: NodeServices, jobs: JobController, workers: TaskGroup) -> None:
        snap = await Snapshot.load(api)
        for deploy in snap.of("deployments"):
            await self._guard("deployment", deploy, sync_deployment(api, node.recorder, deploy, snap))
        for rs in snap.of("replicasets"):
            await self._guard("replicaset", rs, sync_replicaset(api, node.recorder, rs, snap))
        for sts in snap.of("statefulsets"):
            await self._guard("statefulset", sts, sync_statefulset(api, node.recorder, sts, snap))
        for job in snap.of("jobs"):
            await self._guard("job", job, jobs.sync(job, snap))
        jobs.forget({str(j["metadata"]["uid"]) for j in snap.of("jobs")})
        await self._sync_pods(api, node, snap, workers)
        ports = await anyio.to_thread.run_sync(node.port_book.table)
        await anyio.to_thread.run_sync(write_services, self._state_dir, services_table(snap, ports))
        await sync_endpoints(api, snap, ports)

    async def _sync_pods(self, api: KubeApi, node: NodeServices, snap: Snapshot, workers: TaskGroup) -> None:
        pods = {str(p["metadata"]["uid"]): p for p in snap.of("pods") if on_node(p)}
        for uid in [u for u in self._workers if u not in pods]:
            node.leases.stopping(uid)  # now, not when the task runs: a replacement must wait for its ports
            workers.start_soon(self._retire, self._workers.pop(uid), node)
        secrets, configmaps = snap.by_key("secrets"), snap.by_key("configmaps")
        for pod in pods.values():
            await self._guard(
                "pod", pod, self._sync_pod(api, node, snap, workers, pod=pod, objects=(secrets, configmaps))
            )

    async def _retire(self, worker: PodWorker, node: NodeServices) -> None:
        """The pod is gone from the API: stop its process, then drop its scratch folder."""
        worker.stop(deleting=True)
        await worker.done.wait()
        node.recorder.forget(worker.uid)
        node.leases.forget(worker.uid)
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(worker.pod_dir, ignore_errors=True))
        await anyio.to_thread.run_sync(forget_pod, node.state_dir, (worker.namespace, worker.name, worker.uid))

    async def _finish_deletion(self, api: KubeApi, worker: PodWorker | None, pod: JsonObj) -> None:
        """Graceful deletion: stop the containers, then remove the pod for good (``gracePeriodSeconds=0``)."""
        uid = str(pod["metadata"]["uid"])
        try:
            if worker is not None:
                worker.stop(deleting=True)
                await worker.done.wait()
            await api.delete("pods", *key(pod), grace=0)
        finally:
            self._finishing.discard(uid)

    async def _sync_pod(
        self,
        api: KubeApi,
        node: NodeServices,
        snap: Snapshot,
        workers: TaskGroup,
        *,
        pod: JsonObj,
        objects: tuple[Mapping[tuple[str, str], JsonObj], Mapping[tuple[str, str], JsonObj]],
    ) -> None:
        namespace, name = key(pod)
        uid = str(pod["metadata"]["uid"])
        worker = self._workers.get(uid)
        if not (pod.get("spec") or {}).get("nodeName"):
            await api.patch("pods", namespace, name, {"spec": {"nodeName": NODE_NAME}})
            return
        if is_terminating(pod):
            if uid not in self._finishing:
                self._finishing.add(uid)
                node.leases.stopping(uid)
                workers.start_soon(self._finish_deletion, api, worker, pod)
            return
        if worker is None:
            if is_terminal(pod) or not (pod.get("spec") or {}).get("containers"):
                return
            worker = PodWorker(pod, node, workload_of(pod, snap))
            self._workers[uid] = worker
            await node.recorder.emit(
                pod,
                "Normal",
                "Scheduled",
                f"Successfully assigned {namespace}/{name} to {NODE_NAME}",
                component="default-scheduler",
            )
            workers.start_soon(worker.run)
        worker.update(pod, *objects)
        status = pod_status(pod, worker.facts, start_time=worker.start_time, stamp=now())
        if status != (pod.get("status") or {}):
            await api.replace_status("pods", namespace, name, status)
        await self._annotate(api, pod, worker)

    @staticmethod
    async def _annotate(api: KubeApi, pod: JsonObj, worker: PodWorker) -> None:
        have: dict[str, Any] = pod["metadata"].get("annotations") or {}
        want = {LOG_FILE_ANNOTATION: worker.view.log_file, PREVIOUS_LOG_ANNOTATION: worker.view.previous_log_file}
        patch = {k: v for k, v in want.items() if have.get(k) != v}
        if patch:
            await api.patch("pods", *key(pod), {"metadata": {"annotations": patch}})
