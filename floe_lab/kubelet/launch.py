"""One run of one container: build its process, start it as its user, supervise it, and record how it ended.

Why apart from the worker: the worker decides *whether* a container runs (order, back-off, policy); this module
is what the runtime does for one instance — the container's termination-message file mounted at its path, the
launcher's process finalised into a pod process and started as the ``securityContext`` says, the kubelet's
``Pulled``/``Created``/``Started`` events, the log linked where ``kubectl logs`` reads it, readiness watched (app
containers only: init containers have none), and a ``terminated`` state with exit code, reason and termination
message. A new instance after an earlier one counts as a restart, whatever ended the earlier one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import structlog

from floe_lab import freeports, procs
from floe_lab.kubelet import containers, logfiles, security, termination
from floe_lab.kubelet.context import ExecNotFoundError, LaunchContext
from floe_lab.kubelet.forward import relay
from floe_lab.kubelet.readiness import wait_ready
from floe_lab.kubelet.recorder import now
from floe_lab.kubelet.status import waiting

if TYPE_CHECKING:  # the worker calls these; they only drive the worker they are handed
    from floe_lab.kubelet.runtime import PodWorker
    from floe_lab.kubelet.slots import Slot

__all__ = ["kill", "run_once"]

_log = structlog.get_logger("floe_lab.kubelet")


def _new_instance(worker: PodWorker, slot: Slot) -> None:
    if slot.view.container_id is not None:
        slot.view.restart_count += 1
    slot.view.new_container_id(worker.uid)


async def run_once(worker: PodWorker, slot: Slot, ctx: LaunchContext) -> int | None:
    """Run the container once; its exit code, or None when it could not even be created."""
    spec = slot.spec(worker.pod)
    path = str(spec.get("terminationMessagePath") or termination.DEFAULT_PATH)
    slot.message_file = await anyio.to_thread.run_sync(termination.message_file, worker.pod_dir, slot.name)
    ctx = replace(ctx, mounts={**ctx.mounts, path: slot.message_file})
    async with _ports(worker, slot, ctx) as (ctx, take_over):
        try:
            built = await worker.node.launchers[slot.launcher(worker.pod, worker.node.launchers)](ctx)
        except ExecNotFoundError as exc:  # the command names no program of the image: it cannot start
            return await _exec_not_found(worker, slot, exc)
        except Exception as exc:  # a launcher that cannot build its command: the container's problem
            slot.view.state = waiting("CreateContainerError", str(exc))
            await worker.event("Warning", "Failed", f"Error: {exc}", slot=slot)
            return None
        proc = containers.finalise(built, ctx, slot.proc_name)
        proc = security.as_identity(proc, security.identity(worker.pod, ctx.container))
        try:
            code = await _run_process(worker, slot, proc, take_over)
        finally:
            with anyio.CancelScope(shield=True):
                await kill(worker)  # before the ports are let go: the next holder must find them free
        return code


TakeOver = Callable[[], Coroutine[Any, Any, None]] | None


@contextlib.asynccontextmanager
async def _ports(worker: PodWorker, slot: Slot, ctx: LaunchContext) -> AsyncIterator[tuple[LaunchContext, TakeOver]]:
    """The ports this run listens on (:mod:`~floe_lab.kubelet.leases`), and for a surge run what takes the
    workload's own ports over once they are free. Jobs and init containers take the workload's ports as they are."""
    if worker.kind == "Job" or slot.init:
        yield ctx, None
        return
    leases, key = worker.node.leases, (worker.namespace, worker.workload)
    planned = await anyio.to_thread.run_sync(worker.node.port_book.table)
    taken = {port for named in planned.values() for port in named.values()}
    async with leases.claim(key, worker.uid, ctx.ports, taken=taken) as claim:
        await anyio.to_thread.run_sync(freeports.renew, claim.ports.values())  # a late start keeps its ports
        if not claim.surge:
            yield ctx, None
            return

        async def take_over() -> None:  # started once the container is Ready: only Ready pods take traffic
            async with leases.when_free(key, worker.uid):
                await relay(ctx.ports, claim.ports)

        yield replace(ctx, ports=claim.ports), take_over


async def _run_process(worker: PodWorker, slot: Slot, spec: procs.ProcSpec, take_over: TakeOver) -> int:
    """Start and supervise one run of the container (the caller stops it); returns its exit code."""
    view, state_dir = slot.view, worker.node.state_dir
    await containers.clear_leftover(state_dir, spec.name, keep_previous=view.ever_started)
    pulled = f'Container image "{view.image}" already present on machine'
    await worker.event("Normal", "Pulled", pulled, slot=slot)
    started_at = now()
    try:
        rec = await procs.start(state_dir, replace(spec, ready=()))
    except OSError as exc:
        return await _start_failed(worker, slot, spec, exc, started_at)
    worker.rec, worker.running = rec, slot
    _new_instance(worker, slot)
    await worker.event("Normal", "Created", f"Created container: {view.name}", slot=slot)
    await worker.event("Normal", "Started", f"Started container {view.name}", slot=slot)
    view.state = {"running": {"startedAt": started_at}}
    view.ever_started, view.ready = True, False
    view.log_file = rec.log_path
    view.previous_log_file = containers.previous_log(rec.log_path)
    pod = (worker.namespace, worker.name, worker.uid)
    await anyio.to_thread.run_sync(logfiles.link_logs, state_dir, pod, slot.name, view.log_file, view.previous_log_file)
    worker.publish()
    code = await _supervise(worker, slot, rec, spec, take_over)
    with anyio.CancelScope(shield=True):
        await kill(worker)
    _terminated(worker, slot, code, started_at)
    return code


async def _supervise(
    worker: PodWorker, slot: Slot, rec: procs.ProcRecord, spec: procs.ProcSpec, take_over: TakeOver
) -> int:
    async with anyio.create_task_group() as tg:

        async def readiness() -> None:
            await wait_ready(Path(rec.log_path), spec.ready)
            slot.view.ready = True
            worker.publish()
            if take_over is not None:
                tg.start_soon(take_over)

        if not slot.init:
            tg.start_soon(readiness)
        code = await containers.wait_exit(rec)
        tg.cancel_scope.cancel()
    slot.view.ready = False
    return code


async def _start_failed(worker: PodWorker, slot: Slot, spec: procs.ProcSpec, exc: OSError, started_at: str) -> int:
    message = containers.start_error(spec.argv[0], exc)
    _new_instance(worker, slot)
    await worker.event("Warning", "Failed", f"Error: {message}", slot=slot)
    _terminated(worker, slot, 128, started_at, reason="StartError", message=message)
    return 128


async def _exec_not_found(worker: PodWorker, slot: Slot, exc: ExecNotFoundError) -> int:
    """What a node reports when the container's executable is not in its image (the shell's 127)."""
    message = containers.start_error(exc.program, OSError(2, "executable file not found in $PATH: unknown"))
    _new_instance(worker, slot)
    await worker.event("Warning", "Failed", f"Error: {message}", slot=slot)
    _terminated(worker, slot, 127, now(), reason="StartError", message=message)
    return 127


def _terminated(
    worker: PodWorker, slot: Slot, code: int, started_at: str, *, reason: str | None = None, message: str | None = None
) -> None:
    """The run's end, with its termination message (the runtime's own ``message`` when it could not start)."""
    view = slot.view
    if message is None:
        message = termination.message(slot.spec(worker.pod), slot.message_file, view.log_file, code)
    ended = containers.terminated(code, started_at, view.container_id, reason=reason, message=message or None)
    if worker.restarts(slot, code):
        view.last_state = {"terminated": ended}
    view.state = {"terminated": ended}
    view.ready = False


async def kill(worker: PodWorker) -> None:
    """Stop the process running now, if any (a ``Killing`` event when the pod is being deleted)."""
    rec, slot = worker.rec, worker.running
    worker.rec, worker.running = None, None
    if rec is None or slot is None:
        return
    if worker.deleting:
        await worker.event("Normal", "Killing", f"Stopping container {slot.name}", slot=slot)
    grace = float(worker.pod["spec"].get("terminationGracePeriodSeconds", 30))
    try:
        await procs.stop(worker.node.state_dir, rec, grace=min(grace, worker.node.stop_grace))
    except Exception as exc:  # logged; the lab's leak check will show what is left
        _log.warning("could not stop pod process", pod=worker.name, error=str(exc))
