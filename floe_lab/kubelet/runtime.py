"""One pod's container, run as a real local process: the kubelet's per-pod worker.

Why a long-lived task per pod: a container's life is a state machine that outlives any one sync — set up
volumes, "pull" (find the launcher), resolve the environment, start, become ready, exit, back off, restart —
and each step has the kubelet's own failure state and events (``FailedMount``, ``ImagePullBackOff``,
``CreateContainerConfigError``, ``CrashLoopBackOff``). The worker only updates its :class:`ContainerView` and
pokes the sync loop, which writes the pod status; a worker never blocks a sync. Steps that failed are retried
on every sync, so fixing the cause through the API (creating the Secret) really starts the process.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import structlog

from floe_lab import procs
from floe_lab.kubelet import containers
from floe_lab.kubelet.adopt import mirror
from floe_lab.kubelet.api import JsonObj
from floe_lab.kubelet.context import ADOPT_PREFIX, LAUNCH_ANNOTATION, ExecNotFoundError, LaunchContext
from floe_lab.kubelet.envresolve import ConfigError, Objects, resolve_env
from floe_lab.kubelet.images import ImagePuller
from floe_lab.kubelet.node import NodeServices, go_duration
from floe_lab.kubelet.readiness import wait_ready
from floe_lab.kubelet.recorder import now
from floe_lab.kubelet.status import ContainerView, waiting
from floe_lab.kubelet.volumes import MountError, container_mounts, materialise

__all__ = ["PodWorker"]

_log = structlog.get_logger("floe_lab.kubelet")


class PodWorker:
    """Runs (or mirrors) the first container of one pod; see the module docstring."""

    def __init__(self, pod: JsonObj, node: NodeServices, workload: tuple[str, str]) -> None:
        meta, container = pod["metadata"], pod["spec"]["containers"][0]
        self.pod = pod
        self.node = node
        self.uid, self.namespace, self.name = str(meta["uid"]), str(meta.get("namespace")), str(meta["name"])
        self.kind, self.workload = workload
        self.view = ContainerView(name=str(container["name"]), image=str(container.get("image", "")))
        self.start_time = now()
        self.pod_dir = node.state_dir / "pods" / self.uid
        self.done = anyio.Event()
        self.deleting = False
        self._secrets: Objects = {}
        self._configmaps: Objects = {}
        self._poke = anyio.Event()
        self._scope = anyio.CancelScope()
        self._rec: procs.ProcRecord | None = None
        self._puller = ImagePuller(node.backoff_base, node.backoff_max)
        self._published = ""

    # -- inputs from the sync loop -------------------------------------------------------------------------

    @property
    def container(self) -> Mapping[str, Any]:
        spec: Mapping[str, Any] = self.pod["spec"]["containers"][0]
        return spec

    @property
    def launch(self) -> str:
        annotations = self.pod["metadata"].get("annotations") or {}
        return str(annotations.get(LAUNCH_ANNOTATION, ""))

    @property
    def proc_name(self) -> str:
        return self.name

    @property
    def pod_ref(self) -> str:
        """The pod as the kubelet prints it in messages: ``name_namespace(uid)``."""
        return f"{self.name}_{self.namespace}({self.uid})"

    def update(self, pod: JsonObj, secrets: Objects, configmaps: Objects) -> None:
        self.pod, self._secrets, self._configmaps = pod, secrets, configmaps
        self._poke.set()

    def stop(self, *, deleting: bool) -> None:
        """Stop the worker (and its process); ``deleting``: the pod is being deleted (a ``Killing`` event)."""
        self.deleting = deleting
        self._scope.cancel()

    def publish(self) -> None:
        """Wake the sync loop if the view changed since it was last told (so a retry loop stays quiet)."""
        view = self.view
        fingerprint = repr(
            (
                view.state,
                view.last_state,
                view.ready,
                view.restart_count,
                view.sandbox_ready,
                view.finished,
                view.log_file,
            )
        )
        if fingerprint != self._published:
            self._published = fingerprint
            self.node.wake()

    async def wait_poke(self) -> None:
        """Until the next sync hands over fresh objects (or the resync period passes)."""
        with anyio.move_on_after(self.node.resync):
            await self._poke.wait()
        self._poke = anyio.Event()

    async def event(self, type_: str, reason: str, message: str, *, container: bool = True) -> None:
        field_path = f"spec.containers{{{self.view.name}}}" if container else None
        await self.node.recorder.emit(self.pod, type_, reason, message, field_path=field_path)

    # -- the life of the container --------------------------------------------------------------------------

    async def run(self) -> None:
        with self._scope:
            try:
                await self._guarded()
            finally:
                with anyio.CancelScope(shield=True):
                    await self._kill()
                    self.done.set()

    async def _guarded(self) -> None:
        """Run the container's life; an unexpected error is logged and retried, never fatal to the kubelet."""
        while True:
            try:
                if self.launch.startswith(ADOPT_PREFIX):
                    await mirror(self, self.launch.removeprefix(ADOPT_PREFIX))
                else:
                    await self._managed()
            except Exception as exc:
                _log.exception("pod worker failed", pod=self.name, namespace=self.namespace)
                self.view.state = waiting("RunContainerError", str(exc))
                self.view.ready = False
                self.publish()
                await anyio.sleep(self.node.backoff_base)

    async def prepare(self, *, check_image: bool) -> LaunchContext | None:
        """Volumes, image, environment, ports — in the kubelet's order; None (state and events set) on failure."""
        try:
            folders = await anyio.to_thread.run_sync(
                materialise, self.pod, self.pod_dir, self._secrets, self._configmaps
            )
        except MountError as exc:
            self.view.sandbox_ready = False
            self.view.state = waiting("ContainerCreating")
            await self.event("Warning", "FailedMount", str(exc), container=False)
            return None
        self.view.sandbox_ready = True
        if check_image and self.launch not in self.node.launchers:
            await self._puller.not_found(self)
            return None
        try:
            env = resolve_env(self.pod, self.container, self._secrets, self._configmaps)
        except ConfigError as exc:
            self.view.state = waiting("CreateContainerConfigError", str(exc))
            await self.event("Warning", "Failed", f"Error: {exc}")
            return None
        ports = await anyio.to_thread.run_sync(
            self.node.port_book.ports_for, self.workload, list(self.pod["spec"]["containers"])
        )
        return LaunchContext(
            pod_name=self.name,
            namespace=self.namespace,
            workload=self.workload,
            kind=self.kind,
            container=self.container,
            env=env,
            ports=ports,
            mounts=container_mounts(self.container, folders),
            pod_dir=self.pod_dir,
            state_dir=self.node.state_dir,
        )

    async def _managed(self) -> None:
        delay = 0.0
        while True:
            ctx = await self.prepare(check_image=True)
            if ctx is None:
                self.publish()
                await self.wait_poke()
                continue
            started = time.monotonic()
            try:
                spec = containers.finalise(await self.node.launchers[self.launch](ctx), ctx, self.proc_name)
            except ExecNotFoundError as exc:  # the command names no program of the image: it cannot start
                code = await self._exec_not_found(exc)
            except Exception as exc:  # a launcher that cannot build its command: the container's problem
                self.view.state = waiting("CreateContainerError", str(exc))
                await self.event("Warning", "Failed", f"Error: {exc}")
                code = None
            else:
                code = await self._run_process(spec, ctx)
            delay = self._next_delay(delay, time.monotonic() - started)
            if code is not None and not self._restarts(code):
                self.view.finished = True
                self.publish()
                await anyio.sleep_forever()
            if code is not None:
                self.view.restart_count += 1
                message = (
                    f"back-off {go_duration(delay)} restarting failed container={self.view.name} pod={self.pod_ref}"
                )
                self.view.state = waiting("CrashLoopBackOff", message)
                await self.event(
                    "Warning", "BackOff", f"Back-off restarting failed container {self.view.name} in pod {self.pod_ref}"
                )
            self.publish()
            await anyio.sleep(delay)

    def _next_delay(self, delay: float, ran_for: float) -> float:
        if delay == 0 or ran_for >= self.node.backoff_reset:
            return self.node.backoff_base
        return min(delay * 2, self.node.backoff_max)

    def _restarts(self, code: int) -> bool:
        policy = self.pod["spec"].get("restartPolicy", "Always")
        return policy == "Always" or (policy == "OnFailure" and code != 0)

    @contextlib.asynccontextmanager
    async def _port_lock(self, ctx: LaunchContext) -> AsyncIterator[None]:
        if self.kind == "Job":
            yield
            return
        async with self.node.port_book.lock(self.namespace, self.workload):
            yield

    async def _run_process(self, spec: procs.ProcSpec, ctx: LaunchContext) -> int:
        """Start, supervise and stop one run of the container; returns its exit code."""
        async with self._port_lock(ctx):
            try:
                await containers.clear_leftover(self.node.state_dir, spec.name, keep_previous=self.view.ever_started)
                await self.event("Normal", "Pulled", f'Container image "{self.view.image}" already present on machine')
                started_at = now()
                try:
                    self._rec = await procs.start(self.node.state_dir, replace(spec, ready=()))
                except OSError as exc:
                    return await self._start_failed(spec, exc, started_at)
                self.view.new_container_id(self.uid)
                await self.event("Normal", "Created", f"Created container: {self.view.name}")
                await self.event("Normal", "Started", f"Started container {self.view.name}")
                self.view.state = {"running": {"startedAt": started_at}}
                self.view.ever_started, self.view.ready = True, False
                self.view.log_file = self._rec.log_path
                self.view.previous_log_file = containers.previous_log(self._rec.log_path)
                self.publish()
                code = await self._supervise(self._rec, spec)
            finally:
                with anyio.CancelScope(shield=True):
                    await self._kill()
        self._terminated(code, started_at)
        return code

    async def _start_failed(self, spec: procs.ProcSpec, exc: OSError, started_at: str) -> int:
        message = containers.start_error(spec.argv[0], exc)
        self.view.new_container_id(self.uid)
        await self.event("Warning", "Failed", f"Error: {message}")
        self._terminated(128, started_at, reason="StartError", message=message)
        return 128

    async def _exec_not_found(self, exc: ExecNotFoundError) -> int:
        """What a node reports when the container's executable is not in its image (the shell's 127)."""
        message = containers.start_error(exc.program, OSError(2, "executable file not found in $PATH: unknown"))
        self.view.new_container_id(self.uid)
        await self.event("Warning", "Failed", f"Error: {message}")
        self._terminated(127, now(), reason="StartError", message=message)
        return 127

    def _terminated(self, code: int, started_at: str, *, reason: str | None = None, message: str | None = None) -> None:
        fallback = self.container.get("terminationMessagePolicy") == "FallbackToLogsOnError"
        if message is None and code != 0 and fallback:
            message = containers.log_tail(self.view.log_file)
        terminated = containers.terminated(code, started_at, self.view.container_id, reason=reason, message=message)
        if self._restarts(code):
            self.view.last_state = {"terminated": terminated}
        self.view.state = {"terminated": terminated}
        self.view.ready = False

    async def _supervise(self, rec: procs.ProcRecord, spec: procs.ProcSpec) -> int:
        async with anyio.create_task_group() as tg:

            async def readiness() -> None:
                await wait_ready(Path(rec.log_path), spec.ready)
                self.view.ready = True
                self.publish()

            tg.start_soon(readiness)
            code = await containers.wait_exit(rec)
            tg.cancel_scope.cancel()
        self.view.ready = False
        return code

    async def _kill(self) -> None:
        rec, self._rec = self._rec, None
        if rec is None:
            return
        if self.deleting:
            await self.event("Normal", "Killing", f"Stopping container {self.view.name}")
        grace = float(self.pod["spec"].get("terminationGracePeriodSeconds", 30))
        try:
            await procs.stop(self.node.state_dir, rec, grace=min(grace, self.node.stop_grace))
        except Exception as exc:  # logged; the lab's leak check will show what is left
            _log.warning("could not stop pod process", pod=self.name, error=str(exc))
