"""The Job controller: pods for a Job until it completes or exhausts its ``backoffLimit``.

Why it matters to floe-agents: the platform is initialised by Helm hook Jobs, and a hook that failed or never ran
is a root cause the diagnosis must name. So a Job's outcome is the real exit code of its process, reported the
way batch/v1 does (``succeeded``/``failed`` counts, ``startTime``/``completionTime``, the
``SuccessCriteriaMet``+``Complete`` or ``FailureTarget``+``Failed`` conditions with ``BackoffLimitExceeded``),
with the controller's events. Deleting a Job and creating it again runs it again (a new uid, new pods). Retries
after a failed pod wait an exponential back-off (10 s doubling, as the job controller's, unless lowered). One pod
at a time: parallelism above 1 is not run. ``activeDeadlineSeconds`` caps the whole Job (running pods deleted,
``Failed``/``DeadlineExceeded``, before any backoffLimit reasoning) and ``ttlSecondsAfterFinished`` deletes a
finished Job with its pods, as heal's migrate Job and the chart's hook Jobs rely on.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from floe_lab.kubelet.api import JsonObj, KubeApi
from floe_lab.kubelet.recorder import EventRecorder, now
from floe_lab.kubelet.replicas import active
from floe_lab.kubelet.snapshot import Snapshot, is_ready, is_terminating, key
from floe_lab.kubelet.templates import condition, new_pod

__all__ = ["JobController"]

_BACKOFF = "Job has reached the specified backoff limit"
_COMPLETED = "Reached expected number of succeeded pods"
_DEADLINE = "Job was active longer than specified deadline"


def _age(stamp: object) -> float:
    """Seconds since an RFC 3339 timestamp (0 when there is none)."""
    if not isinstance(stamp, str) or not stamp:
        return 0.0
    return (datetime.now(UTC) - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()


def _finished_at(job: JsonObj) -> str | None:
    status = job.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(status.get("completionTime") or cond.get("lastTransitionTime") or "")
    return None


def _finished(job: JsonObj) -> bool:
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or []
    )


class JobController:
    """Reconciles Jobs; remembers, per Job, when a retry after a failed pod may start."""

    def __init__(self, api: KubeApi, recorder: EventRecorder, *, backoff_base: float, backoff_max: float) -> None:
        self._api, self._recorder = api, recorder
        self._base, self._max = backoff_base, backoff_max
        self._retry_at: dict[str, float] = {}

    def retry_in(self) -> float | None:
        """Seconds until the earliest retry of a failed Job pod is due (None: none waits), so the sync loop wakes for
        it instead of polling: nothing in the API changes when a back-off ends."""
        if not self._retry_at:
            return None
        return max(0.0, min(self._retry_at.values()) - time.monotonic())

    async def _emit(self, job: JsonObj, type_: str, reason: str, message: str) -> None:
        await self._recorder.emit(job, type_, reason, message, component="job-controller")

    async def sync(self, job: JsonObj, snap: Snapshot) -> None:
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        finished_at = _finished_at(job)
        if finished_at is not None and ttl is not None and not is_terminating(job) and _age(finished_at) >= int(ttl):
            namespace, name = key(job)
            await self._api.delete("jobs", namespace, name, propagation="Background")  # the TTL controller
            return
        if is_terminating(job) or _finished(job) or (job.get("spec") or {}).get("suspend"):
            return
        namespace, name = key(job)
        spec, old = job["spec"], job.get("status") or {}
        uid = str(job["metadata"]["uid"])
        pods = snap.owned("pods", job)
        running = active(pods)
        phases = [(p.get("status") or {}).get("phase") for p in pods]
        succeeded = max(int(old.get("succeeded", 0)), phases.count("Succeeded"))
        failed = max(int(old.get("failed", 0)), phases.count("Failed"))
        completions, limit = int(spec.get("completions") or 1), int(spec.get("backoffLimit", 6))
        stamp = now()
        status: JsonObj = {"startTime": old.get("startTime") or stamp, "terminating": 0, "uncountedTerminatedPods": {}}
        conditions: list[JsonObj] = list(old.get("conditions") or [])
        deadline = spec.get("activeDeadlineSeconds")
        overdue = deadline is not None and succeeded < completions and _age(old.get("startTime")) >= int(deadline)
        if failed > limit or overdue:
            reason, message = ("DeadlineExceeded", _DEADLINE) if overdue else ("BackoffLimitExceeded", _BACKOFF)
            for pod in running:
                await self._api.delete("pods", namespace, pod["metadata"]["name"])
            conditions += [condition(t, True, reason, message, stamp, probe=True) for t in ("FailureTarget", "Failed")]
            running = []
            await self._emit(job, "Warning", reason, message)
            self._retry_at.pop(uid, None)
        elif succeeded >= completions:
            conditions += [
                condition(t, True, "CompletionsReached", _COMPLETED, stamp, probe=True)
                for t in ("SuccessCriteriaMet", "Complete")
            ]
            status["completionTime"] = stamp
            await self._emit(job, "Normal", "Completed", "Job completed")
            self._retry_at.pop(uid, None)
        elif not running:
            if failed and uid not in self._retry_at:
                self._retry_at[uid] = time.monotonic() + min(self._base * 2 ** (failed - 1), self._max)
            if time.monotonic() >= self._retry_at.get(uid, 0.0):
                self._retry_at.pop(uid, None)
                pod = await self._api.create(
                    "pods", namespace, new_pod(spec["template"], job, generate_name=f"{name}-")
                )
                await self._emit(job, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
                running = [pod]
        status.update(
            {"active": len(running), "ready": sum(map(is_ready, running)), "succeeded": succeeded, "failed": failed}
        )
        status = {k: v for k, v in status.items() if v != 0 or k in ("ready", "terminating")}
        if conditions:
            status["conditions"] = conditions
        if old != status:
            await self._api.replace_status("jobs", namespace, name, status)

    def forget(self, live_uids: set[str]) -> None:
        """Drop retry timers of Jobs that no longer exist."""
        for uid in [u for u in self._retry_at if u not in live_uids]:
            del self._retry_at[uid]
