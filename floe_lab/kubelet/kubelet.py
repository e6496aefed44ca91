"""The lab kubelet: one loop that plays the node's kubelet and the workload controllers.

Why one loop over a fresh snapshot: at lab scale (tens of objects) listing everything each sync is cheap, and
reconciling *towards the API's current state* is what makes the lab converge whatever happened in between
(a remediation created a Secret, someone deleted a pod, the kubelet itself restarted). Watches only make the
next sync come sooner; a short resync catches everything else. All API traffic goes through the real
``kubernetes_asyncio`` client, as a kubelet's would. One bad object is logged and skipped, never fatal.

Pods run in :class:`~floe_lab.kubelet.runtime.PodWorker` tasks (:mod:`~floe_lab.kubelet.pods`); leaving
:meth:`Kubelet.run` (cancel, SIGTERM) stops every process the kubelet started. Adopted processes are someone
else's and are left alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus
from kubernetes_asyncio import client

from floe_lab.kube.client import client_configuration
from floe_lab.kubelet.api import KubeApi
from floe_lab.kubelet.backoff import BACKOFF_BASE, BACKOFF_MAX
from floe_lab.kubelet.clusterips import ServiceProxy
from floe_lab.kubelet.context import EXEC_LAUNCHER, Launcher
from floe_lab.kubelet.cronjobs import Clock, CronJobController
from floe_lab.kubelet.endpoints import services_table, sync_endpoints, write_services
from floe_lab.kubelet.execimage import exec_image
from floe_lab.kubelet.jobs import JobController
from floe_lab.kubelet.node import NodeServices, Timing
from floe_lab.kubelet.pods import Pods, guard
from floe_lab.kubelet.ports import PortBook
from floe_lab.kubelet.recorder import EventRecorder
from floe_lab.kubelet.replicas import sync_deployment, sync_replicaset
from floe_lab.kubelet.serviceaccount import ApiAccess, ServiceAccounts, discover_access, ensure_default_accounts
from floe_lab.kubelet.snapshot import Snapshot
from floe_lab.kubelet.statefulsets import sync_statefulset

__all__ = ["Kubelet"]

_log = structlog.get_logger("floe_lab.kubelet")
_WATCHED = (
    "pods",
    "deployments",
    "replicasets",
    "statefulsets",
    "jobs",
    "cronjobs",
    "services",
    "secrets",
    "configmaps",
    "serviceaccounts",
)
_API_SERVICE = ("kubernetes", "default")  # the Service in front of the API server, in every cluster


@dataclass(frozen=True)
class _Controllers:
    """The controllers with memory of their own, where pods reach the API, and the Services' ClusterIPs."""

    jobs: JobController
    cron: CronJobController
    access: ApiAccess | None
    proxy: ServiceProxy


def _with_api_service(table: dict[str, Any], access: ApiAccess | None) -> dict[str, Any]:
    """The Service table with ``kubernetes.default.svc:443`` leading to the API server's HTTPS port."""
    if access is None:
        return table
    name, namespace = _API_SERVICE
    table["services"].setdefault(name, {"443": f"{access.host}:{access.port}"})
    table["namespaces"] = sorted({*table.get("namespaces", []), namespace})
    return table


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
        api_https: the API's HTTPS URL pods are pointed at, and ca_file: the CA that signed its certificate (both
            default to the lab's own, found in ``state_dir``: see :mod:`~floe_lab.kubelet.serviceaccount`).
        clock: the CronJob controller's clock (tests drive schedules with their own).

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
        api_https: str | None = None,
        ca_file: Path | None = None,
        clock: Clock | None = None,
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
        self._api_https, self._ca_file, self._clock = api_https, ca_file, clock
        self._wake = anyio.Event()
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
            access = await anyio.to_thread.run_sync(discover_access, self._state_dir, self._api_https, self._ca_file)
            accounts = ServiceAccounts(api, access)
            node = NodeServices(
                self._state_dir,
                self._launchers,
                recorder,
                PortBook(self._state_dir),
                self.wake,
                **self._timing,
                accounts=accounts,
            )
            ctl = _Controllers(
                JobController(api, recorder, backoff_base=node.backoff_base, backoff_max=node.backoff_max),
                CronJobController(api, recorder, **({} if self._clock is None else {"clock": self._clock})),
                access,
                await ServiceProxy.load(self._state_dir),
            )
            async with anyio.create_task_group() as watchers:
                watchers.start_soon(ctl.proxy.run)
                for plural in _WATCHED:
                    watchers.start_soon(self._watch, api, plural)
                async with anyio.create_task_group() as workers:
                    await self._loop(api, node, ctl, Pods(api, node, workers), on_ready)

    async def _loop(
        self,
        api: KubeApi,
        node: NodeServices,
        ctl: _Controllers,
        pods: Pods,
        on_ready: Callable[[], None] | None,
    ) -> None:
        failing = False
        while True:
            self._wake = anyio.Event()
            try:
                await self._sync(api, node, ctl, pods)
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
            due = [t for t in (ctl.jobs.retry_in(), ctl.cron.due_in()) if t is not None]
            with anyio.move_on_after(min([node.resync, *due])):
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

    async def _sync(self, api: KubeApi, node: NodeServices, ctl: _Controllers, pods: Pods) -> None:
        snap = await Snapshot.load(api)
        pods.let_go(snap)
        lingering = pods.lingering()
        for deploy in snap.of("deployments"):
            await guard("deployment", deploy, sync_deployment(api, node.recorder, deploy, snap, lingering=lingering))
        for rs in snap.of("replicasets"):
            await guard("replicaset", rs, sync_replicaset(api, node.recorder, rs, snap))
        for sts in snap.of("statefulsets"):
            await guard("statefulset", sts, sync_statefulset(api, node.recorder, sts, snap))
        for cronjob in snap.of("cronjobs"):
            await guard("cronjob", cronjob, ctl.cron.sync(cronjob, snap))
        ctl.cron.forget({str(c["metadata"]["uid"]) for c in snap.of("cronjobs")})
        for job in snap.of("jobs"):
            await guard("job", job, ctl.jobs.sync(job, snap))
        ctl.jobs.forget({str(j["metadata"]["uid"]) for j in snap.of("jobs")})
        await ensure_default_accounts(api, snap)  # before pods: their tokens are asked for their ServiceAccount
        if node.accounts is not None:
            node.accounts.update(snap)
        await pods.sync(snap)
        ports = await anyio.to_thread.run_sync(node.port_book.table)
        table = ctl.proxy.assign(_with_api_service(services_table(snap, ports), ctl.access))
        await anyio.to_thread.run_sync(write_services, self._state_dir, table)
        await sync_endpoints(api, snap, ports)
