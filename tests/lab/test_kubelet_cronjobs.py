"""The CronJob controller on a clock of the test's own: Jobs named and annotated as batch/v1 makes them, Forbid and
Replace, a missed starting deadline, suspend, time zones and the history limits — against the real API stand-in,
with no kubelet (a Job stays active until the test writes its outcome) and no waiting for a minute to begin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from floe_lab.kubelet.api import KubeApi
from floe_lab.kubelet.cronjobs import SCHEDULED_ANNOTATION, CronJobController, job_name, rfc3339
from floe_lab.kubelet.cronsched import CronSchedule, ScheduleError
from floe_lab.kubelet.recorder import EventRecorder
from floe_lab.kubelet.snapshot import Snapshot
from tests.support.kubelet import NS, Lab, running_api

BATCH = f"/apis/batch/v1/namespaces/{NS}"


@dataclass
class Clock:
    """The controller's clock: starts a little after now (the CronJob's creation), moved by the test."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(second=0, microsecond=0))

    def __call__(self) -> datetime:
        return self.now

    def to_next(self, minutes: int, *, late: int = 5) -> datetime:
        """Move to ``late`` seconds after the next multiple of ``minutes``; that scheduled time."""
        base = self.now.replace(second=0, microsecond=0)
        step = minutes - base.minute % minutes
        scheduled = base + timedelta(minutes=step)
        self.now = scheduled + timedelta(seconds=late)
        return scheduled


@dataclass
class Cron:
    lab: Lab
    api: KubeApi
    clock: Clock
    controller: CronJobController

    async def create(self, name: str, schedule: str = "*/5 * * * *", **spec: Any) -> dict[str, Any]:
        template = {
            "metadata": {"labels": {"app": name}, "annotations": {"team": "data"}},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "run", "image": "busybox", "command": ["true"]}],
                    }
                },
            },
        }
        body = {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"schedule": schedule, "jobTemplate": template, **spec},
        }
        created: dict[str, Any] = await self.lab.request("POST", f"{BATCH}/cronjobs", body)
        return created

    async def sync(self) -> None:
        snap = await Snapshot.load(self.api)
        for cronjob in snap.of("cronjobs"):
            await self.controller.sync(cronjob, snap)

    async def jobs(self, cronjob: str) -> list[str]:
        items = (await self.lab.get(f"{BATCH}/jobs"))["items"]
        return sorted(
            j["metadata"]["name"]
            for j in items
            if any(r["name"] == cronjob for r in j["metadata"].get("ownerReferences") or [])
            and not j["metadata"].get("deletionTimestamp")
        )

    async def job(self, name: str) -> dict[str, Any]:
        job: dict[str, Any] = await self.lab.get(f"{BATCH}/jobs/{name}")
        return job

    async def finish(self, name: str, outcome: str = "Complete") -> None:
        """Write the Job's end as the Job controller would."""
        stamp = rfc3339(self.clock())
        status: dict[str, Any] = {
            "startTime": stamp,
            "conditions": [{"type": outcome, "status": "True", "lastTransitionTime": stamp}],
        }
        if outcome == "Complete":
            status.update(completionTime=stamp, succeeded=1)
        else:
            status["failed"] = 1
        await self.api.replace_status("jobs", NS, name, status)

    async def status(self, name: str) -> dict[str, Any]:
        return dict((await self.lab.get(f"{BATCH}/cronjobs/{name}")).get("status") or {})

    async def reasons(self, name: str) -> list[str]:
        return [str(e["reason"]) for e in await self.lab.events(name) if e["involvedObject"]["kind"] == "CronJob"]


@pytest.fixture
async def cron(tmp_path: Path) -> AsyncIterator[Cron]:
    async with running_api(tmp_path) as lab:
        api = KubeApi(lab.api_client)
        clock = Clock()
        yield Cron(lab, api, clock, CronJobController(api, EventRecorder(api), clock=clock))


def test_schedules_parse_as_cron_reads_them() -> None:
    at = datetime(2026, 3, 2, 10, 7, tzinfo=UTC)  # a Monday
    assert CronSchedule.parse("*/15 * * * *").next_after(at) == at.replace(minute=15)
    assert CronSchedule.parse("0 9 * * mon-fri").next_after(at) == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert CronSchedule.parse("@daily").next_after(at) == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert CronSchedule.parse("0 0 1 JAN *").next_after(at) == datetime(2027, 1, 1, tzinfo=UTC)
    # both day fields restricted: either matches (the 13th, or any Friday)
    assert CronSchedule.parse("0 0 13 * 5").next_after(at) == datetime(2026, 3, 6, tzinfo=UTC)
    assert CronSchedule.parse("0 0 30 2 *").next_after(at) is None
    for bad in ("* * * *", "61 * * * *", "*/0 * * * *", "5-1 * * * *", "@every 5m"):
        with pytest.raises(ScheduleError):
            CronSchedule.parse(bad)


async def test_a_scheduled_time_makes_one_job_named_and_owned_as_batch_v1_does(cron: Cron) -> None:
    created = await cron.create("report")
    await cron.sync()
    assert await cron.jobs("report") == []  # nothing due since its creation
    scheduled = cron.clock.to_next(5)
    await cron.sync()
    await cron.sync()  # the same time again: still one Job
    name = job_name("report", scheduled)
    assert name == f"report-{int(scheduled.timestamp()) // 60}"
    assert await cron.jobs("report") == [name]
    job = await cron.job(name)
    assert job["metadata"]["annotations"] == {"team": "data", SCHEDULED_ANNOTATION: rfc3339(scheduled)}
    assert job["metadata"]["labels"]["app"] == "report"
    owner = job["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "CronJob",
        "report",
        created["metadata"]["uid"],
        True,
    )
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["true"]
    status = await cron.status("report")
    assert [a["name"] for a in status["active"]] == [name]
    assert status["lastScheduleTime"] == rfc3339(scheduled)
    assert await cron.reasons("report") == ["SuccessfulCreate"]


async def test_forbid_skips_while_a_run_is_active_and_starts_the_missed_run_after(cron: Cron) -> None:
    await cron.create("forbid", concurrencyPolicy="Forbid")
    first = job_name("forbid", cron.clock.to_next(5))
    await cron.sync()
    second_time = cron.clock.to_next(5)
    await cron.sync()
    assert await cron.jobs("forbid") == [first]
    assert "JobAlreadyActive" in await cron.reasons("forbid")
    await cron.finish(first)
    cron.clock.now += timedelta(seconds=30)
    await cron.sync()  # the missed time is still the latest, no deadline: it runs now, as the controller does
    assert await cron.jobs("forbid") == [first, job_name("forbid", second_time)]
    status = await cron.status("forbid")
    assert [a["name"] for a in status["active"]] == [job_name("forbid", second_time)]
    assert status["lastSuccessfulTime"]
    assert "SawCompletedJob" in await cron.reasons("forbid")


async def test_replace_deletes_the_running_job_for_the_new_one(cron: Cron) -> None:
    await cron.create("replace", concurrencyPolicy="Replace")
    first = job_name("replace", cron.clock.to_next(5))
    await cron.sync()
    second = job_name("replace", cron.clock.to_next(5))
    await cron.sync()
    assert await cron.jobs("replace") == [second]
    assert [a["name"] for a in (await cron.status("replace"))["active"]] == [second]
    assert (await cron.reasons("replace")).count("SuccessfulDelete") == 1
    assert first != second


async def test_allow_runs_side_by_side(cron: Cron) -> None:
    await cron.create("allow")
    first = job_name("allow", cron.clock.to_next(5))
    await cron.sync()
    second = job_name("allow", cron.clock.to_next(5))
    await cron.sync()
    assert await cron.jobs("allow") == sorted([first, second])
    assert len((await cron.status("allow"))["active"]) == 2


async def test_a_run_past_its_starting_deadline_is_skipped(cron: Cron) -> None:
    await cron.create("late", startingDeadlineSeconds=60)
    cron.clock.to_next(5, late=120)
    await cron.sync()
    await cron.sync()
    assert await cron.jobs("late") == []
    assert await cron.reasons("late") == ["MissSchedule"]
    assert "lastScheduleTime" not in await cron.status("late")
    on_time = cron.clock.to_next(5, late=30)
    await cron.sync()
    assert await cron.jobs("late") == [job_name("late", on_time)]


async def test_suspend_starts_nothing(cron: Cron) -> None:
    await cron.create("paused", suspend=True)
    cron.clock.to_next(5)
    await cron.sync()
    assert await cron.jobs("paused") == []


async def test_the_schedule_is_read_in_its_time_zone(cron: Cron) -> None:
    await cron.create("tokyo", schedule="0 * * * *", timeZone="Asia/Tokyo")
    scheduled = cron.clock.to_next(60)
    await cron.sync()
    name = job_name("tokyo", scheduled)
    assert await cron.jobs("tokyo") == [name]
    stamp = (await cron.job(name))["metadata"]["annotations"][SCHEDULED_ANNOTATION]
    assert stamp.endswith("+09:00")
    assert datetime.fromisoformat(stamp) == scheduled


async def test_history_limits_keep_the_newest_finished_jobs(cron: Cron) -> None:
    await cron.create("history", successfulJobsHistoryLimit=2, failedJobsHistoryLimit=1)
    made = []
    for outcome in ("Complete", "Complete", "Failed", "Complete", "Failed"):
        made.append(job_name("history", cron.clock.to_next(5)))
        await cron.sync()
        await cron.finish(made[-1], outcome)
    await cron.sync()
    assert await cron.jobs("history") == sorted([made[1], made[3], made[4]])
    assert (await cron.reasons("history")).count("SuccessfulDelete") == 2
    assert "active" not in await cron.status("history")
