"""One pod's containers, run as real local processes: the kubelet's per-pod worker.

Why a long-lived task per pod: a pod's life is a state machine that outlives any one sync — set up volumes, run
the init containers one after the other (each to success), then the app container: "pull" (find the launcher),
resolve the environment, start, become ready, exit, back off, restart — and each step has the kubelet's own
failure state and events (``FailedMount``, ``ImagePullBackOff``, ``CreateContainerConfigError``,
``CrashLoopBackOff``, ``Init:CrashLoopBackOff``). The worker only updates its containers' views and pokes the
sync loop, which writes the pod status; a worker never blocks a sync. Steps that failed are retried on every
sync, so fixing the cause through the API (creating the Secret) really starts the process. One process runs at a
time: init containers in order, then the first app container (further app containers are reported waiting).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import structlog

from floe_lab import procs
from floe_lab.kubelet import launch, security
from floe_lab.kubelet.adopt import mirror
from floe_lab.kubelet.api import JsonObj
from floe_lab.kubelet.context import ADOPT_PREFIX, LAUNCH_ANNOTATION, LaunchContext
from floe_lab.kubelet.envresolve import ConfigError, Objects, expand_command, resolve_env
from floe_lab.kubelet.node import NodeServices, go_duration
from floe_lab.kubelet.recorder import now
from floe_lab.kubelet.serviceaccount import SA_PATH
from floe_lab.kubelet.slots import Slot, slots_of
from floe_lab.kubelet.status import ContainerView, PodFacts, waiting
from floe_lab.kubelet.volumes import MountError, container_mounts, materialise

__all__ = ["PodWorker"]

_log = structlog.get_logger("floe_lab.kubelet")


class PodWorker:
    """Runs (or mirrors) one pod's containers; see the module docstring."""

    def __init__(self, pod: JsonObj, node: NodeServices, workload: tuple[str, str]) -> None:
        meta = pod["metadata"]
        self.pod = pod
        self.node = node
        self.uid, self.namespace, self.name = str(meta["uid"]), str(meta.get("namespace")), str(meta["name"])
        self.kind, self.workload = workload
        self.inits, self.app = slots_of(pod, base=node.backoff_base, ceiling=node.backoff_max)
        self.sandbox_ready = False
        self.init_failed = False
        self.start_time = now()
        self.pod_dir = node.state_dir / "pods" / self.uid
        self.done = anyio.Event()
        self.deleting = False
        self.rec: procs.ProcRecord | None = None  # the process running now, and whose it is
        self.running: Slot | None = None
        self._secrets: Objects = {}
        self._configmaps: Objects = {}
        self._folders: dict[str, Path] = {}
        self._credentials: Path | None = None  # the service-account files' folder (SA_PATH in the container)
        self._poke = anyio.Event()
        self._scope = anyio.CancelScope()
        self._published = ""

    # -- inputs from the sync loop -------------------------------------------------------------------------

    @property
    def view(self) -> ContainerView:
        """The first app container's view (what an adopted process is mirrored into)."""
        return self.app.view

    @property
    def container(self) -> Mapping[str, Any]:
        return self.app.spec(self.pod)

    @property
    def launch(self) -> str:
        annotations = self.pod["metadata"].get("annotations") or {}
        return str(annotations.get(LAUNCH_ANNOTATION, ""))

    @property
    def pod_ref(self) -> str:
        """The pod as the kubelet prints it in messages: ``name_namespace(uid)``."""
        return f"{self.name}_{self.namespace}({self.uid})"

    @property
    def facts(self) -> PodFacts:
        inits = tuple(s.view for s in self.inits)
        return PodFacts(self.app.view, inits, sandbox_ready=self.sandbox_ready, init_failed=self.init_failed)

    def update(self, pod: JsonObj, secrets: Objects, configmaps: Objects) -> None:
        self.pod, self._secrets, self._configmaps = pod, secrets, configmaps
        self._poke.set()

    def stop(self, *, deleting: bool) -> None:
        """Stop the worker (and its process); ``deleting``: the pod is being deleted (a ``Killing`` event)."""
        self.deleting = deleting
        self._scope.cancel()

    def publish(self) -> None:
        """Wake the sync loop if the views changed since it was last told (so a retry loop stays quiet)."""
        fingerprint = repr(self.facts)
        if fingerprint != self._published:
            self._published = fingerprint
            self.node.wake()

    async def wait_poke(self) -> None:
        """Until the next sync hands over fresh objects (or the resync period passes)."""
        with anyio.move_on_after(self.node.resync):
            await self._poke.wait()
        self._poke = anyio.Event()

    async def event(
        self, type_: str, reason: str, message: str, *, container: bool = True, slot: Slot | None = None
    ) -> None:
        field_path = (slot or self.app).field_path if container else None
        await self.node.recorder.emit(self.pod, type_, reason, message, field_path=field_path)

    # -- the life of the pod ----------------------------------------------------------------------------------

    async def run(self) -> None:
        with self._scope:
            try:
                await self._guarded()
            finally:
                with anyio.CancelScope(shield=True):
                    await launch.kill(self)
                    self.done.set()

    async def _guarded(self) -> None:
        """Run the pod's life; an unexpected error is logged and retried, never fatal to the kubelet."""
        while True:
            try:
                if self.launch.startswith(ADOPT_PREFIX):
                    await mirror(self, self.launch.removeprefix(ADOPT_PREFIX))
                else:
                    await self._managed()
            except Exception as exc:
                _log.exception("pod worker failed", pod=self.name, namespace=self.namespace)
                self.app.view.state = waiting("RunContainerError", str(exc))
                self.app.view.ready = False
                self.publish()
                await anyio.sleep(self.node.backoff_base)

    async def _managed(self) -> None:
        for slot in self.inits:
            if slot.view.finished:  # done earlier (the worker retried after an error): not run again
                continue
            code = await self._life(slot)
            slot.view.finished = True
            if code != 0:
                self.init_failed = True
                self.publish()
                await anyio.sleep_forever()
        await self._life(self.app)
        self.app.view.finished = True
        self.publish()
        await anyio.sleep_forever()

    def restarts(self, slot: Slot, code: int) -> bool:
        """Whether the container runs again after exiting with ``code`` (init containers never after success)."""
        policy = self.pod["spec"].get("restartPolicy", "Always")
        if slot.init:
            return code != 0 and policy != "Never"
        return policy == "Always" or (policy == "OnFailure" and code != 0)

    async def _life(self, slot: Slot) -> int:
        """Run a container until it is done for good; its last exit code."""
        exited_at: float | None = None
        while True:
            if not await self._sandbox():
                self.publish()
                await self.wait_poke()
                continue
            if exited_at is not None and slot.backoff.in_backoff_since(exited_at):
                await self._crash_loop(slot, exited_at)
                continue
            ctx = await self._context(slot, check_image=True)
            if ctx is None:
                self.publish()
                await self.wait_poke()
                continue
            if exited_at is not None:
                slot.backoff.next(exited_at)
            code = await launch.run_once(self, slot, ctx)
            if code is None:  # the container could not be created: tried again, as the pod worker requeues
                self.publish()
                await anyio.sleep(self.node.backoff_base)
                continue
            exited_at = time.monotonic()
            if not self.restarts(slot, code):
                return code
            self.publish()

    async def _crash_loop(self, slot: Slot, exited_at: float) -> None:
        delay = go_duration(slot.backoff.delay)
        message = f"back-off {delay} restarting failed container={slot.name} pod={self.pod_ref}"
        slot.view.state = waiting("CrashLoopBackOff", message)
        await self.event(
            "Warning", "BackOff", f"Back-off restarting failed container {slot.name} in pod {self.pod_ref}", slot=slot
        )
        self.publish()
        await anyio.sleep(slot.backoff.remaining(exited_at))

    # -- what a container needs before it starts --------------------------------------------------------------

    async def _sandbox(self) -> bool:
        """The pod's volumes (refreshed on every try), owned by its ``fsGroup``; False: ``FailedMount``."""
        accounts = self.node.accounts
        try:
            folders = await anyio.to_thread.run_sync(
                materialise, self.pod, self.pod_dir, self._secrets, self._configmaps
            )
            self._credentials = None if accounts is None else await accounts.mount(self.pod, self.pod_dir)
        except MountError as exc:
            self.sandbox_ready = False
            default = "PodInitializing" if self.inits else "ContainerCreating"
            for slot in (*self.inits, self.app):
                if slot.idle():
                    slot.view.state = waiting(default)
            await self.event("Warning", "FailedMount", str(exc), container=False)
            return False
        try:
            await anyio.to_thread.run_sync(security.own_volumes, self.pod, folders)
        except PermissionError as exc:  # an unprivileged node cannot give files away
            _log.debug("fsGroup not applied", pod=self.name, error=str(exc))
        self._folders, self.sandbox_ready = folders, True
        return True

    async def _context(self, slot: Slot, *, check_image: bool) -> LaunchContext | None:
        """Image, environment, user, ports — in the kubelet's order; None (state and events set) on failure."""
        view, container = slot.view, slot.spec(self.pod)
        if check_image and slot.launcher(self.pod, self.node.launchers) not in self.node.launchers:

            async def emit(type_: str, reason: str, message: str) -> None:
                await self.event(type_, reason, message, slot=slot)

            await slot.puller.not_found(view, emit, self.publish)
            return None
        try:
            env = resolve_env(self.pod, container, self._secrets, self._configmaps)
            if self.node.accounts is not None:  # the `kubernetes` Service's variables come first, as service links do
                env = {**self.node.accounts.env(), **env}
        except ConfigError as exc:
            problem: str | None = str(exc)
        else:
            problem = security.non_root_error(self.pod, container, self.pod_ref)
        if problem is not None:
            view.state = waiting("CreateContainerConfigError", problem)
            await self.event("Warning", "Failed", f"Error: {problem}", slot=slot)
            return None
        ports = await anyio.to_thread.run_sync(
            self.node.port_book.ports_for, self.workload, list(self.pod["spec"]["containers"])
        )
        return LaunchContext(
            pod_name=self.name,
            namespace=self.namespace,
            workload=self.workload,
            kind=self.kind,
            container=expand_command(container, env),
            env=env,
            ports=ports,
            mounts=self._mounts(container),
            pod_dir=self.pod_dir,
            state_dir=self.node.state_dir,
        )

    def _mounts(self, container: Mapping[str, Any]) -> dict[str, Path]:
        """The container's volume mounts, and the service-account files at their fixed path unless it mounts its own
        volume there."""
        own = container_mounts(container, self._folders)
        return own if self._credentials is None else {SA_PATH: self._credentials, **own}

    async def prepare(self, slot: Slot | None = None, *, check_image: bool) -> LaunchContext | None:
        """Volumes, then the container's context (default: the first app container); None on failure."""
        if not await self._sandbox():
            return None
        return await self._context(slot or self.app, check_image=check_image)
