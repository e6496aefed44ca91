"""``adopt:<procname>``: a pod that mirrors a process someone else started (the lab's PostgreSQL).

Why: some lab servers are node-level — PostgreSQL is started before the API server exists, because the lab
itself needs it — yet the cluster must still show them as the pods the chart would have created. The kubelet
does not start or restart such a process; it only reports it: Running (and Ready once its recorded ports accept
connections) while it is alive, and when it dies, what a crash looks like on a node — ``restartCount+1``, a
terminated ``lastState``, ``CrashLoopBackOff`` with ``BackOff`` events — until someone starts it again. Its exit
code is not observable (it is not our child), so it is reported as ``1``/``Error``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio

from floe_lab import procs
from floe_lab.kubelet import logfiles
from floe_lab.kubelet.node import go_duration
from floe_lab.kubelet.recorder import now
from floe_lab.kubelet.status import waiting

if TYPE_CHECKING:  # the worker calls mirror(); mirror only drives the worker it is handed
    from floe_lab.kubelet.runtime import PodWorker

__all__ = ["mirror"]


def _record(worker: PodWorker, name: str) -> procs.ProcRecord | None:
    path = worker.node.state_dir.resolve() / "procs" / f"{name}.json"
    try:
        return procs.ProcRecord(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _alive_and_ready(rec: procs.ProcRecord | None) -> tuple[bool, bool]:
    if rec is None or not procs.is_alive(rec):
        return False, False
    ports = list(rec.ports.values())
    return True, len(procs.listening(ports)) == len(ports)


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def mirror(worker: PodWorker, name: str) -> None:
    """Mirror the recorded process ``name`` into the worker's view, forever (cancel to stop)."""
    view = worker.view
    incarnation: tuple[int, int] | None = None
    delay, retry_at = 0.0, 0.0
    while True:
        if await worker.prepare(check_image=False) is None:
            worker.publish()
            await worker.wait_poke()
            continue
        rec = await anyio.to_thread.run_sync(_record, worker, name)
        alive, ready = await anyio.to_thread.run_sync(_alive_and_ready, rec)
        if alive and rec is not None and (rec.pid, rec.start_ticks) != incarnation:
            incarnation, delay = (rec.pid, rec.start_ticks), 0.0
            view.new_container_id(worker.uid)
            await worker.event("Normal", "Pulled", f'Container image "{view.image}" already present on machine')
            await worker.event("Normal", "Created", f"Created container: {view.name}")
            await worker.event("Normal", "Started", f"Started container {view.name}")
            view.state = {"running": {"startedAt": _stamp(rec.started_at)}}
            view.ever_started, view.log_file = True, rec.log_path
            pod = (worker.namespace, worker.name, worker.uid)
            await anyio.to_thread.run_sync(
                logfiles.link_logs, worker.node.state_dir, pod, view.name, rec.log_path, None
            )
        elif not alive and "running" in view.state:
            terminated = {
                "exitCode": 1,
                "reason": "Error",
                "startedAt": view.state["running"]["startedAt"],
                "finishedAt": now(),
                "containerID": view.container_id,
            }
            view.last_state, view.restart_count = {"terminated": terminated}, view.restart_count + 1
            delay, retry_at = worker.node.backoff_base, 0.0
        if not alive and view.ever_started and anyio.current_time() >= retry_at:
            message = f"back-off {go_duration(delay)} restarting failed container={view.name} pod={worker.pod_ref}"
            view.state = waiting("CrashLoopBackOff", message)
            await worker.event(
                "Warning", "BackOff", f"Back-off restarting failed container {view.name} in pod {worker.pod_ref}"
            )
            retry_at = anyio.current_time() + delay
            delay = min(delay * 2, worker.node.backoff_max)
        elif not alive and not view.ever_started:
            view.state = waiting("ContainerCreating")
        view.ready = ready
        worker.publish()
        await worker.wait_poke()
