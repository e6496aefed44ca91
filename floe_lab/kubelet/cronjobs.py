"""The CronJob controller: a Job for each scheduled time, as batch/v1 says, so floe-agents can run on a schedule.

Why it follows the real controller closely: the scheduled ``floe-agents investigate`` is deployed as a CronJob, and
what an operator sees of it (a Job ``<cronjob>-<scheduled minute since the epoch>`` owned by the CronJob and
annotated ``batch.kubernetes.io/cronjob-scheduled-timestamp``, ``status.active``/``lastScheduleTime``/
``lastSuccessfulTime``, the controller's events) must be what a cluster shows. Honoured: ``schedule`` (5 fields, in
``timeZone`` or the node's zone), ``suspend``, ``concurrencyPolicy`` (Allow, Forbid: skip while a run is active and
start the missed run once it ends if still inside the deadline; Replace: delete the running Job first),
``startingDeadlineSeconds`` (a run later than that is skipped with ``MissSchedule``), more than 100 missed times (a
``TooManyMissedTimes`` warning, the latest still runs) and ``successfulJobsHistoryLimit``/
``failedJobsHistoryLimit`` (older finished Jobs deleted, their pods with them). Only the latest missed time runs.
A Job made by hand from the CronJob (``kubectl create job --from=cronjob/NAME``) is owned by it and counted too.

The clock is a parameter: tests drive the schedule with a clock of their own instead of waiting for a minute.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from floe_lab.kubelet.api import JsonObj, KubeApi, KubeError
from floe_lab.kubelet.cronsched import MISSED_LIMIT, CronSchedule, ScheduleError
from floe_lab.kubelet.recorder import EventRecorder
from floe_lab.kubelet.snapshot import Snapshot, is_terminating, key, owner_ref

__all__ = ["SCHEDULED_ANNOTATION", "Clock", "CronJobController", "job_name", "rfc3339"]

SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
Clock = Callable[[], datetime]
_COMPONENT = "cronjob-controller"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """A time as Go's ``time.RFC3339`` writes it (``Z`` for UTC, else the offset)."""
    text = moment.replace(microsecond=0).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def _parse_time(stamp: object) -> datetime | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def job_name(cronjob: str, scheduled: datetime) -> str:
    """The controller's Job name: the scheduled time in minutes since the epoch, so a time runs at most once."""
    return f"{cronjob}-{int(scheduled.timestamp()) // 60}"


def _finished(job: JsonObj) -> str | None:
    """``Complete`` or ``Failed`` once the Job has finished, else None."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return None


def _started(job: JsonObj) -> str:
    return str((job.get("status") or {}).get("startTime") or job["metadata"].get("creationTimestamp") or "")


def _ref(job: JsonObj) -> JsonObj:
    meta = job["metadata"]
    return {
        "kind": "Job",
        "namespace": meta.get("namespace"),
        "name": meta["name"],
        "uid": meta["uid"],
        "apiVersion": "batch/v1",
        "resourceVersion": meta.get("resourceVersion"),
    }


def _zone(spec: JsonObj) -> tzinfo | None:
    """The CronJob's ``timeZone``; None: the node's local zone. Raises ``ZoneInfoNotFoundError``/``ValueError``."""
    name = spec.get("timeZone")
    return ZoneInfo(str(name)) if name else None


class CronJobController:
    """Reconciles CronJobs; remembers when each is next due and which skips it has already reported."""

    def __init__(self, api: KubeApi, recorder: EventRecorder, *, clock: Clock = _utc_now) -> None:
        self._api, self._recorder, self._clock = api, recorder, clock
        self._next: dict[str, datetime] = {}
        self._reported: set[tuple[str, str, str]] = set()  # (cronjob uid, reason, scheduled time): said once

    def due_in(self) -> float | None:
        """Seconds until the earliest next run of any CronJob (None: none is scheduled), so the sync loop wakes
        for it: nothing in the API changes when a minute begins."""
        if not self._next:
            return None
        return max(0.0, (min(self._next.values()) - self._clock()).total_seconds())

    def forget(self, live_uids: set[str]) -> None:
        """Drop what is remembered of CronJobs that no longer exist."""
        for uid in [u for u in self._next if u not in live_uids]:
            del self._next[uid]
        self._reported = {r for r in self._reported if r[0] in live_uids}

    async def _emit(self, cronjob: JsonObj, type_: str, reason: str, message: str) -> None:
        await self._recorder.emit(cronjob, type_, reason, message, component=_COMPONENT)

    async def _once(self, cronjob: JsonObj, type_: str, reason: str, message: str, scheduled: datetime) -> None:
        said = (str(cronjob["metadata"]["uid"]), reason, rfc3339(scheduled))
        if said not in self._reported:
            self._reported.add(said)
            await self._emit(cronjob, type_, reason, message)

    async def sync(self, cronjob: JsonObj, snap: Snapshot) -> None:
        if is_terminating(cronjob):
            return
        namespace, name = key(cronjob)
        uid, spec, old = str(cronjob["metadata"]["uid"]), cronjob.get("spec") or {}, cronjob.get("status") or {}
        jobs = snap.owned("jobs", cronjob)
        status: JsonObj = {k: v for k, v in old.items() if k in ("lastScheduleTime", "lastSuccessfulTime")}
        await self._saw_finished(cronjob, jobs, old, status)
        await self._clean_history(cronjob, jobs)
        running = (j for j in jobs if not _finished(j) and not is_terminating(j))
        active = sorted(running, key=lambda j: str(j["metadata"]["name"]))
        self._next.pop(uid, None)
        if not spec.get("suspend"):
            active = await self._schedule(cronjob, active, snap, status)
        if active:
            status["active"] = [_ref(j) for j in active]
        if status != old:
            await self._api.replace_status("cronjobs", namespace, name, status)

    async def _saw_finished(self, cronjob: JsonObj, jobs: list[JsonObj], old: JsonObj, status: JsonObj) -> None:
        """Jobs that were active and have finished: the controller's ``SawCompletedJob``; the last success."""
        was_active = {str(ref.get("uid")) for ref in old.get("active") or []}
        for job in jobs:
            outcome = _finished(job)
            if outcome is None:
                continue
            if str(job["metadata"]["uid"]) in was_active:
                message = f"Saw completed job: {job['metadata']['name']}, condition: {outcome}"
                await self._emit(cronjob, "Normal", "SawCompletedJob", message)
            done = _parse_time((job.get("status") or {}).get("completionTime"))
            last = _parse_time(status.get("lastSuccessfulTime"))
            if outcome == "Complete" and done is not None and (last is None or done > last):
                status["lastSuccessfulTime"] = rfc3339(done)

    async def _clean_history(self, cronjob: JsonObj, jobs: list[JsonObj]) -> None:
        """Delete finished Jobs beyond the history limits, oldest first (their pods go with them)."""
        spec = cronjob.get("spec") or {}
        limits = {
            "Complete": spec.get("successfulJobsHistoryLimit", 3),
            "Failed": spec.get("failedJobsHistoryLimit", 1),
        }
        for outcome, limit in limits.items():
            if limit is None:
                continue
            done = [j for j in jobs if _finished(j) == outcome and not is_terminating(j)]
            done.sort(key=_started)
            for job in done[: max(0, len(done) - int(limit))]:
                await self._api.delete("jobs", *key(job), propagation="Background")
                await self._emit(cronjob, "Normal", "SuccessfulDelete", f"Deleted job {job['metadata']['name']}")

    async def _schedule(
        self, cronjob: JsonObj, active: list[JsonObj], snap: Snapshot, status: JsonObj
    ) -> list[JsonObj]:
        """Start the run that is due, if any; the Jobs active afterwards."""
        spec, meta = cronjob["spec"], cronjob["metadata"]
        try:
            schedule, zone = CronSchedule.parse(str(spec.get("schedule", ""))), _zone(spec)
        except ScheduleError as exc:
            await self._emit(cronjob, "Warning", "UnparseableSchedule", f"unparseable schedule: {exc}")
            return active
        except (ZoneInfoNotFoundError, ValueError):
            await self._emit(cronjob, "Warning", "UnknownTimeZone", f"invalid timeZone: {spec.get('timeZone')!r}")
            return active
        now = self._clock().astimezone(zone)
        earliest = _parse_time(status.get("lastScheduleTime")) or _parse_time(meta.get("creationTimestamp")) or now
        scheduled, missed = schedule.latest(earliest.astimezone(zone), now)
        following = schedule.next_after(now)
        if following is not None:
            self._next[str(meta["uid"])] = following
        if scheduled is None:
            return active
        if missed > MISSED_LIMIT:
            message = (
                f"too many missed start times: {missed}. Set or decrease .spec.startingDeadlineSeconds or check "
                "clock skew"
            )
            await self._once(cronjob, "Warning", "TooManyMissedTimes", message, scheduled)
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and scheduled + timedelta(seconds=int(deadline)) < now:
            text = scheduled.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
            message = f"Missed scheduled time to start a job: {text}"
            await self._once(cronjob, "Warning", "MissSchedule", message, scheduled)
            return active
        name = job_name(meta["name"], scheduled)
        if (meta.get("namespace"), name) in snap.by_key("jobs"):
            return active  # this time has its Job already (it may have finished)
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and active:
            message = "Not starting job because prior execution is running and concurrency policy is Forbid"
            await self._once(cronjob, "Normal", "JobAlreadyActive", message, scheduled)
            return active
        if policy == "Replace":
            for job in active:
                await self._api.delete("jobs", *key(job), propagation="Background")
                await self._emit(cronjob, "Normal", "SuccessfulDelete", f"Deleted job {job['metadata']['name']}")
            active = []
        created = await self._create(cronjob, name, scheduled)
        status["lastScheduleTime"] = rfc3339(scheduled.astimezone(UTC))
        return [*active, created] if created is not None else active

    async def _create(self, cronjob: JsonObj, name: str, scheduled: datetime) -> JsonObj | None:
        template = cronjob["spec"].get("jobTemplate") or {}
        tmeta = template.get("metadata") or {}
        annotations = {**(tmeta.get("annotations") or {}), SCHEDULED_ANNOTATION: rfc3339(scheduled)}
        meta: JsonObj = {
            "name": name,
            "namespace": cronjob["metadata"]["namespace"],
            "annotations": annotations,
            "ownerReferences": [owner_ref(cronjob)],
        }
        if tmeta.get("labels"):
            meta["labels"] = dict(tmeta["labels"])
        spec = copy.deepcopy(template.get("spec") or {})
        body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec}
        try:
            created = await self._api.create("jobs", meta["namespace"], body)
        except KubeError as exc:
            if exc.status == 409:  # made in an earlier sync the snapshot did not show yet
                return None
            await self._emit(cronjob, "Warning", "FailedCreate", f"Error creating job: {exc.message}")
            raise
        await self._emit(cronjob, "Normal", "SuccessfulCreate", f"Created job {name}")
        return created
